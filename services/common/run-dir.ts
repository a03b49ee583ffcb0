// Where a run's files live: $RLMESH_RUNS_DIR/<run id> (default ./runs/<run id>).
import path from 'node:path';

export function runsRoot(): string {
  return path.resolve(process.env.RLMESH_RUNS_DIR ?? 'runs');
}

export function runDir(runId: string): string {
  return path.join(runsRoot(), runId);
}
