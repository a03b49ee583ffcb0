// Failpoints: named places in the learner's step pipeline where a test makes the process kill itself (SIGKILL, no
// cleanup) at a chosen step, to prove a crash there leaves a consistent state. Off unless RLMESH_FAILPOINTS is set:
//   RLMESH_FAILPOINTS=learner.after-checkpoint:3[,learner.after-weights:5]
// Parsed once at start; an unknown name or a bad step is a config error (a typo never silently disables a test).
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';

/** The learner's failpoints, in step order (docs/conventions.md, "Failpoints"). */
export const LearnerFailpoint = {
  /** Optimizer step applied in memory; nothing persisted yet. */
  afterStep: 'learner.after-step',
  /**
   * Weights object put in the object store, not announced; the checkpoint is written alongside and may not be done
   * yet (a restart then retrains the step and replaces the object).
   */
  afterWeightsStored: 'learner.after-weights-stored',
  /** Checkpoint (weights, moments, trained ids, outbox) and weights object written; the version not yet announced. */
  afterCheckpoint: 'learner.after-checkpoint',
  /** Weights put in the object store and announced; feedback not yet published. */
  afterWeights: 'learner.after-weights',
  /** Feedback published; metrics not yet published. */
  afterFeedback: 'learner.after-feedback',
} as const;
export type LearnerFailpoint = (typeof LearnerFailpoint)[keyof typeof LearnerFailpoint];

const KNOWN = new Set<string>(Object.values(LearnerFailpoint));

/** Failpoint name -> the step at which it fires. */
export type FailpointPlan = ReadonlyMap<LearnerFailpoint, number>;

/** Pure: parses `name:step[,name:step...]`; empty or unset means none. */
export function parseFailpoints(spec: string | undefined): FailpointPlan {
  const plan = new Map<LearnerFailpoint, number>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z.-]+):(\d+)$/.exec(part);
    if (!m) throw new RlmeshError(ErrorCategory.config, `RLMESH_FAILPOINTS: "${part}" is not name:step`, { field: 'RLMESH_FAILPOINTS' });
    const [, name, step] = m as unknown as [string, string, string];
    if (!KNOWN.has(name)) {
      throw new RlmeshError(ErrorCategory.config, `RLMESH_FAILPOINTS: unknown failpoint "${name}" (known: ${[...KNOWN].join(', ')})`, { field: 'RLMESH_FAILPOINTS' });
    }
    const n = Number(step);
    if (!Number.isSafeInteger(n) || n < 1) throw new RlmeshError(ErrorCategory.config, `RLMESH_FAILPOINTS: step of "${name}" must be >= 1`, { field: 'RLMESH_FAILPOINTS' });
    plan.set(name as LearnerFailpoint, n);
  }
  return plan;
}

/** A function the trainer calls at each failpoint; kills this process when the plan names that point and step. */
export function failpointTrigger(plan: FailpointPlan, log: (m: string) => void): (name: LearnerFailpoint, step: number) => void {
  if (plan.size === 0) return () => {};
  return (name, step) => {
    if (plan.get(name) !== step) return;
    log(`failpoint ${name} at step ${step}: SIGKILL`);
    process.kill(process.pid, 'SIGKILL');
  };
}
