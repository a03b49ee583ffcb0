// Teacher NATS worker: TrajectoryBatch (rewarded) -> teacher scores on the same tokens -> TrajectoryBatch (scored),
// published before the input is acked. The trajectories of the messages in hand are scored in batched forward passes
// (MicroBatcher); each is forwarded as its received bytes with the encoded scores (and its new trace context)
// appended. Spans: `process rewarded` per message and `teacher.score` per trajectory, in the trajectory's own trace.
// A malformed trajectory (empty, longer than the context, token ids outside the vocabulary) is dead-lettered on its
// own while the rest of its batch flows on.
import type { JetStreamClient } from '@nats-io/jetstream';
import { checkTokens, scoreTrajectories, type Teacher, type TeacherNeeds } from '../../src/actors/index.ts';
import type { TokenScores, Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import {
  carriesOf, ConsumerName, consumeProto, isPermanentError, publishTrajectoryBatch, runNames, TrajectoryBatchParts, type ConsumeLoop,
  type MessageContext, type TrajectoryParts,
} from '../../src/platform/nats/index.ts';
import { isTelemetryActive, recordError } from '../../src/platform/telemetry/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { deadLetterRefused, forwardTrajectories, trajectorySpan, type Forward, type Refused } from '../common/trajectory-stage.ts';
import { MicroBatcher } from './batcher.ts';

export interface TeacherWorkerDeps {
  js: JetStreamClient;
  runId: string;
  teacher: Teacher;
  needs: TeacherNeeds;
  /** called once per message with the completion tokens of the trajectories it published to scored */
  onScored?: (tokens: number) => void;
  onError?: (err: unknown) => void;
}

/** Why the teacher cannot score t (a data error naming the field), or undefined. */
function teacherInputProblem(t: Trajectory, vocab: number, maxPositions: number): unknown {
  if (t.trajectoryId === '') return new RlmeshError(ErrorCategory.data, 'trajectory.trajectory_id: is required (it is the dedupe id)', { field: 'trajectory.trajectory_id' });
  try {
    checkTokens(t, vocab, maxPositions);
    return undefined;
  } catch (err) {
    return err;
  }
}

export function startTeacherWorker(deps: TeacherWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const source = { stream: names.stages.rewarded.stream, consumer: ConsumerName.teacher, deadSubject: names.stages.dead.subject };
  const vocab = deps.teacher.model.config.vocab_size;
  const maxPositions = deps.teacher.model.config.max_position_embeddings;
  // Trajectories submitted in one tick (a message's, and those of the other messages in hand) share forward passes.
  const batcher = new MicroBatcher<Trajectory, TokenScores>((ts) => scoreTrajectories(deps.teacher, ts, { full: deps.needs.full }), 32);

  async function handle(batch: TrajectoryParts, ctx: MessageContext): Promise<void> {
    const ts = batch.trajectories;
    const spans = isTelemetryActive() ? ts.map((t) => trajectorySpan('teacher.score', t, ctx, deps.runId)) : undefined;
    try {
      const refused: Refused[] = [];
      const scoring: Array<Promise<TokenScores> | undefined> = ts.map((t, i) => {
        const problem = batch.undecodable.get(i) ?? teacherInputProblem(t, vocab, maxPositions);
        if (!problem) return batcher.submit(t);
        refused.push({ index: i, error: problem });
        return undefined;
      });
      const scores = await Promise.allSettled(scoring.map((p) => p ?? Promise.resolve(undefined)));
      const forwards: Forward[] = [];
      let tokens = 0;
      for (let i = 0; i < ts.length; i++) {
        const s = scores[i]!;
        if (!scoring[i]) continue;
        if (s.status === 'rejected') {
          // Scoring failed for this trajectory alone (MicroBatcher retries a failed batch item by item): a data error
          // is its own dead letter, as is any error on the message's last delivery; otherwise the message is retried.
          if (isPermanentError(s.reason) || ctx.lastDelivery) refused.push({ index: i, error: s.reason });
          else throw s.reason;
          continue;
        }
        const t = ts[i]!;
        forwards.push({ t: { trajectoryId: t.trajectoryId, carries: carriesOf(t), traceContext: t.traceContext }, encoded: batch.encoded[i]!, span: spans?.[i], fields: { teacher: s.value } });
        tokens += t.completionTokenIds.length;
      }
      // The message is acked only once every trajectory is stored on scored or dead-lettered.
      await Promise.all([deadLetterRefused(deps.js, ctx, source, ts, batch.encoded, refused, spans), publishTrajectoryBatch(deps.js, names.stages.scored.subject, forwardTrajectories(forwards), { stage: 'teacher' })]);
      deps.onScored?.(tokens);
    } catch (err) {
      if (spans) for (const span of spans) recordError(span, err);
      throw err;
    } finally {
      if (spans) for (const span of spans) span.end();
    }
  }

  return consumeProto(deps.js, {
    stream: source.stream,
    consumer: source.consumer,
    type: TrajectoryBatchParts,
    deadSubject: source.deadSubject,
    batch: 2,
    concurrency: 2,
    onError: deps.onError,
    handler: handle,
  });
}
