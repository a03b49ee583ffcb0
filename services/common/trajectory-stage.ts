// What every stage on a trajectory stream (verifier, teacher, learner) does per trajectory of a TrajectoryBatch
// message: one span in the trajectory's own trace (parented on its trace_context), its bytes forwarded with the
// stage's fields and the new trace context appended, and a malformed one dead-lettered on its own.
import type { Attributes, Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import {
  deadLetterReason, publishDeadTrajectory, withFieldsEach, type CarriedFields, type DeadLetterSource, type EncodedTrajectory, type MessageContext,
} from '../../src/platform/nats/index.ts';
import { contextWithSpan, recordError, startSpanFromMap, traceContextAfter, type TraceContextMap } from '../../src/platform/telemetry/index.ts';

/** What a stage's span reads of a trajectory (a decoded Trajectory or a TrajectorySummary). */
export interface SpanSubject {
  trajectoryId: string;
  task?: { taskId: string } | undefined;
  policyVersion: number;
  traceContext: TraceContextMap;
}

/**
 * The stage's span for one trajectory of the message in ctx: a child of the trajectory's trace context (of the
 * message's `process` span when it carries none). Attributes are set only when the span records (unsampled spans
 * cost no attribute work); the delivery count of the message is one of them.
 */
export function trajectorySpan(name: string, t: SpanSubject, ctx: MessageContext, runId: string, extra?: Attributes): Span {
  const span = startSpanFromMap(name, t.traceContext, { parent: () => contextWithSpan(ctx.span) });
  if (span.isRecording()) {
    span.setAttributes({
      'rlmesh.run_id': runId,
      'rlmesh.trajectory_id': t.trajectoryId,
      'rlmesh.task_id': t.task?.taskId ?? '',
      'rlmesh.policy_version': t.policyVersion,
      'messaging.message.delivery_count': ctx.deliveryCount,
      ...extra,
    });
  }
  return span;
}

/** `fields` plus, when span is given (tracing) and the context changed, the trace_context pointing at span. */
function withTraceContext(fields: Partial<Trajectory>, span: Span | undefined, previous: TraceContextMap): Partial<Trajectory> {
  const traceContext = span && traceContextAfter(span, previous);
  return traceContext ? { ...fields, traceContext } : fields;
}

/** What forwarding reads of a trajectory: its id, which message fields it already carries, its trace context. */
export interface ForwardSubject {
  trajectoryId: string;
  carries: CarriedFields;
  traceContext: TraceContextMap;
}

/** One trajectory a stage sends on: its received bytes, its span (while tracing) and the fields the stage sets. */
export interface Forward {
  t: ForwardSubject;
  encoded: Uint8Array;
  span: Span | undefined;
  fields: Partial<Trajectory>;
}

/** The trajectories with the stage's fields and their new trace contexts set, ready to publish (withFieldsEach). */
export function forwardTrajectories(items: readonly Forward[]): EncodedTrajectory[] {
  return withFieldsEach(items.map(({ t, encoded, span, fields }) => ({ id: t.trajectoryId, encoded, carries: t.carries, fields: withTraceContext(fields, span, t.traceContext) })));
}

/** A trajectory of the batch that cannot go on, and why (a data error names the field). */
export interface Refused {
  index: number;
  error: unknown;
}

/**
 * Dead-letters each refused trajectory of the message (ts[i], read from encoded[i]) on its own: a batch of one with
 * the reason and its bytes as received; its span records the error. The rest of the message flows on. Resolves once every dead letter is stored; rejects
 * (transport) otherwise, and the caller fails the message so it is redelivered (the dead letters are deduplicated by
 * their ids).
 */
export async function deadLetterRefused(
  js: JetStreamClient, ctx: MessageContext, source: DeadLetterSource,
  ts: ReadonlyArray<{ trajectoryId: string }>, encoded: readonly Uint8Array[], refused: readonly Refused[], spans?: ReadonlyArray<Span | undefined>,
): Promise<void> {
  await Promise.all(refused.map(({ index, error }) => {
    const span = spans?.[index];
    if (span) recordError(span, error);
    return publishDeadTrajectory(js, ctx, source, { trajectoryId: ts[index]!.trajectoryId, index, data: encoded[index]! }, deadLetterReason(error));
  }));
}
