// What every stage on a trajectory stream (verifier, teacher, learner) does per trajectory of a TrajectoryBatch
// message: one span in the trajectory's own trace (parented on its trace_context), its bytes forwarded with the
// stage's fields and the new trace context appended, and a malformed one dead-lettered on its own.
import type { Attributes, Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import {
  deadLetterReason, publishDeadTrajectory, withFields, type DeadLetterSource, type MessageContext, type TrajectoryParts,
} from '../../src/platform/nats/index.ts';
import { contextWithSpan, recordError, startSpanFromMap, traceContextAfter } from '../../src/platform/telemetry/index.ts';

/**
 * The stage's span for one trajectory of the message in ctx: a child of the trajectory's trace context (of the
 * message's `process` span when it carries none). Attributes are set only when the span records (unsampled spans
 * cost no attribute work); the delivery count of the message is one of them.
 */
export function trajectorySpan(name: string, t: Trajectory, ctx: MessageContext, runId: string, extra?: Attributes): Span {
  const span = startSpanFromMap(name, t.traceContext, { parent: contextWithSpan(ctx.span) });
  if (span.isRecording()) {
    span.setAttributes({
      'rlmesh.run_id': runId,
      'rlmesh.trajectory_id': t.trajectoryId,
      'rlmesh.task_id': t.task?.taskId ?? t.taskId,
      'rlmesh.policy_version': t.policyVersion,
      'messaging.message.delivery_count': ctx.deliveryCount,
      ...extra,
    });
  }
  return span;
}

/**
 * The trajectory's bytes with `fields` set and, when span is given (tracing), its trace_context pointing at span
 * (withFields: appended to the received bytes, not re-encoded).
 */
export function forwardTrajectory(encoded: Uint8Array, t: Trajectory, span: Span | undefined, fields: Partial<Trajectory> = {}): Uint8Array {
  const traceContext = span && traceContextAfter(span, t.traceContext);
  return withFields(encoded, t, traceContext ? { ...fields, traceContext } : fields);
}

/** A trajectory of the batch that cannot go on, and why (a data error names the field). */
export interface Refused {
  index: number;
  error: unknown;
}

/**
 * Dead-letters each refused trajectory on its own (a batch of one with the reason; its span records the error) while
 * the rest of the message flows on. Resolves once every dead letter is stored; rejects (transport) otherwise, and the
 * caller fails the message so it is redelivered (the dead letters are deduplicated by their ids).
 */
export async function deadLetterRefused(
  js: JetStreamClient, ctx: MessageContext, source: DeadLetterSource, batch: TrajectoryParts, refused: readonly Refused[], spans?: ReadonlyArray<Span | undefined>,
): Promise<void> {
  await Promise.all(refused.map(({ index, error }) => {
    const span = spans?.[index];
    if (span) recordError(span, error);
    return publishDeadTrajectory(js, ctx, source, { trajectoryId: batch.trajectories[index]!.trajectoryId, index, data: batch.encoded[index]! }, deadLetterReason(error));
  }));
}
