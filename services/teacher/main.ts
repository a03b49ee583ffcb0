// Teacher actor wiring: load the teacher (a separate checkpoint, or the student's initial weights with privileged
// context), TeacherScoring gRPC, and the rewarded -> scored worker.
// Run: npx rlmesh serve teacher --port 50052 --config examples/opd.yaml
import { Counter } from 'prom-client';
import { loadPolicy, teacherNeeds, type Teacher } from '../../src/actors/index.ts';
import { TeacherScoringService } from '../../src/generated/rlmesh/v1/teacher.ts';
import type { ActorRuntime } from '../common/runtime.ts';
import { teacherHandlers } from './grpc.ts';
import { startTeacherWorker } from './worker.ts';

export async function start(rt: ActorRuntime): Promise<void> {
  const cfg = rt.run.config;
  const privileged = cfg.teacher?.kind === 'privileged-self';
  const dir = privileged ? cfg.student.model : cfg.teacher?.model ?? cfg.student.model;
  const teacher: Teacher = { ...(await loadPolicy(dir)), id: privileged ? 'self-privileged' : 'teacher', privileged };
  rt.grpc.addService(TeacherScoringService, teacherHandlers(teacher));
  if (!rt.run.mode.needsTeacher) {
    rt.log('run mode needs no teacher: serving gRPC only');
    return;
  }
  const tokens = new Counter({ name: 'rlmesh_teacher_scored_tokens_total', help: 'completion tokens scored', registers: [rt.metrics.registry] });
  const worker = startTeacherWorker({
    js: rt.js, runId: rt.runId, teacher, needs: teacherNeeds(cfg.objective.name, cfg.objective.params, cfg.token_selector?.name),
    onScored: (n) => tokens.inc(n),
    onError: (e) => rt.log(`worker: ${e instanceof Error ? e.message : String(e)}`),
  });
  rt.onStop(() => worker.stop());
}
