// Teacher NATS worker: rewarded trajectories -> teacher scores on the same tokens -> scored (ack after publish).
import type { JetStreamClient } from '@nats-io/jetstream';
import { scoreTrajectories, type Teacher, type TeacherNeeds } from '../../src/actors/index.ts';
import { Trajectory, type TokenScores } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, consumeProto, publishProto, runNames, type ConsumeLoop } from '../../src/platform/nats/index.ts';
import { withSpan } from '../../src/platform/telemetry/index.ts';
import { RlmeshError, ErrorCategory } from '../../src/errors.ts';
import { MicroBatcher } from './batcher.ts';

export interface TeacherWorkerDeps {
  js: JetStreamClient;
  runId: string;
  teacher: Teacher;
  needs: TeacherNeeds;
  onScored?: (tokens: number) => void;
  onError?: (err: unknown) => void;
}

export function startTeacherWorker(deps: TeacherWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const vocab = deps.teacher.model.config.vocab_size;
  const maxPositions = deps.teacher.model.config.max_position_embeddings;
  const batcher = new MicroBatcher<Trajectory, TokenScores>((ts) => scoreTrajectories(deps.teacher, ts, { full: deps.needs.full }), 32);
  return consumeProto(deps.js, {
    stream: names.stages.rewarded.stream,
    consumer: ConsumerName.teacher,
    type: Trajectory,
    deadSubject: names.stages.dead.subject,
    batch: 32,
    concurrency: 32,
    onError: deps.onError,
    handler: async (t) => {
      const attributes = { 'rlmesh.run_id': deps.runId, 'rlmesh.trajectory_id': t.trajectoryId, 'rlmesh.task_id': t.taskId };
      await withSpan('teacher.score', { attributes }, async () => {
        if (t.completionTokenIds.length === 0 || t.promptTokenIds.length === 0) {
          throw new RlmeshError(ErrorCategory.data, `trajectory ${t.trajectoryId}: empty prompt or completion`, { field: 'completion_token_ids' });
        }
        const len = t.promptTokenIds.length + t.completionTokenIds.length;
        if (len > maxPositions) throw new RlmeshError(ErrorCategory.data, `trajectory ${t.trajectoryId}: prompt + completion is ${len} tokens; max_position_embeddings is ${maxPositions}`, { field: 'completion_token_ids' });
        for (const id of [...t.promptTokenIds, ...t.completionTokenIds]) {
          if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RlmeshError(ErrorCategory.data, `trajectory ${t.trajectoryId}: token id ${id} outside [0, ${vocab})`, { field: 'completion_token_ids' });
        }
        const scores = await batcher.submit(t);
        await publishProto(deps.js, names.stages.scored.subject, Trajectory, { ...t, teacher: scores }, {
          msgId: `${t.trajectoryId}:teacher`,
          attributes: { 'rlmesh.trajectory_id': t.trajectoryId, 'rlmesh.run_id': deps.runId },
        });
        deps.onScored?.(t.completionTokenIds.length);
      });
    },
  });
}
