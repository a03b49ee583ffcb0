// Checks the e2e tests run over a finished run: group accounting against independent counts (dispatch spans,
// the checkpoint's trained ids), exactly-once training from the learner.step links, and trace consistency.
import assert from 'node:assert/strict';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import type { RunHarness, RunStatusView } from './harness.ts';

/** `<group id>/<sample>` -> group id. */
export const groupOf = (trajectoryId: string) => trajectoryId.slice(0, trajectoryId.lastIndexOf('/'));

/**
 * Every dispatched group is trained, dropped stale, set aside by the batch filter, rejected (malformed feedback), or still in flight at the end, and the controller's numbers
 * agree with counts taken elsewhere: dispatches from the gateway's spans, trained groups from the learner's checkpoint.
 */
export function assertAccounting(h: RunHarness, status: RunStatusView, spans: readonly SpanRecord[]): { trainedGroups: Set<string>; dispatchIds: Set<string> } {
  const a = status.accounting;
  const dispatchIds = new Set(spans.filter((s) => s.name === 'gateway.dispatch').map((s) => String(s.attributes['rlmesh.dispatch_id'])));
  assert.equal(dispatchIds.size, a.dispatched, `gateway.dispatch spans (${dispatchIds.size}) = accounting.dispatched (${a.dispatched})`);
  assert.equal(a.completed + a.droppedStale + a.filtered + a.rejected + status.inFlight, a.dispatched,
    `dispatched ${a.dispatched} = completed ${a.completed} + dropped stale ${a.droppedStale} + filtered ${a.filtered} + rejected ${a.rejected} + in flight ${status.inFlight}`);
  const state = h.trainerState();
  const trainedIds = state.rng?.trainedIds ?? [];
  const trainedGroups = new Set(trainedIds.map(groupOf));
  for (const g of trainedGroups) assert.ok(dispatchIds.has(g), `trained group ${g} was dispatched`);
  // Strict: a trained group's feedback is never lost, also not across a broker outage or a learner crash after its
  // checkpoint (the learner's outbox re-publishes it), so the controller counts exactly the groups the learner trained.
  assert.equal(trainedGroups.size, a.completed, `groups in the checkpoint's trained ids (${trainedGroups.size}) = accounting.completed (${a.completed})`);
  assert.ok(status.inFlight >= 0 && status.inFlight <= 64);
  return { trainedGroups, dispatchIds };
}

/**
 * No trajectory is trained twice: the learner's counter equals its id set, and no id is linked from two steps.
 * `complete`: every process ended cleanly, so every trained id's step span was exported (a SIGKILLed learner loses
 * its last unexported spans).
 */
export function assertTrainedOnce(h: RunHarness, spans: readonly SpanRecord[], complete = true): { stepSpans: SpanRecord[]; linked: Map<string, number>; duplicates: number } {
  const state = h.trainerState();
  const ids = state.rng?.trainedIds ?? [];
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(state.rng?.trained, ids.length, `learner counted ${state.rng?.trained} trained trajectories; ${ids.length} distinct ids`);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const stepSpans = spans.filter((s) => s.name === 'learner.step');
  const linked = new Map<string, number>();
  for (const step of stepSpans) {
    for (const l of step.links) {
      const ingest = byId.get(l.spanId);
      if (!ingest && !complete) continue;
      assert.ok(ingest, `learner.step (step ${String(step.attributes['rlmesh.step'])}) links span ${l.spanId}, which exists`);
      assert.equal(ingest.name, 'learner.ingest');
      assert.equal(ingest.traceId, l.traceId);
      const id = String(ingest.attributes['rlmesh.trajectory_id']);
      linked.set(id, (linked.get(id) ?? 0) + 1);
    }
  }
  // A step links every trajectory of its batch, also those it dropped as stale (not trained); a redelivered stale
  // trajectory is dropped again by a later step, so only trained ids must be linked from one step.
  const trainedSet = new Set(ids);
  const twice = [...linked].filter(([id, n]) => n > 1 && trainedSet.has(id));
  assert.deepEqual(twice, [], 'no trained trajectory is linked from two learner.step spans');
  if (complete) for (const id of ids) assert.ok(linked.has(id), `trained id ${id} is linked from a learner.step span`);
  return { stepSpans, linked, duplicates: twice.length + ids.length - new Set(ids).size };
}

/**
 * Spans of messages a consumer got more than once (the broker's delivery count on the message's CONSUMER `process`
 * span; the per-trajectory spans of a batch message carry the count too, but are not messages).
 */
export function redeliveredSpans(spans: readonly SpanRecord[]): SpanRecord[] {
  return spans.filter((s) => s.kind === 'CONSUMER' && Number(s.attributes['messaging.message.delivery_count'] ?? 1) > 1);
}

/**
 * The end check of a fault case: the accounting adds up (assertAccounting) and nothing is trained twice
 * (assertTrainedOnce; `complete` as there). Returns the figures the fault tests print: lost groups (dispatched, per
 * the gateway's spans, but neither in the checkpoint's trained ids, dropped stale, filtered, rejected nor in flight; 0 whenever
 * assertAccounting passed), duplicates, and redelivered-message spans.
 */
export function assertNothingLost(h: RunHarness, status: RunStatusView, spans: readonly SpanRecord[], complete = true): { lost: number; duplicates: number; redelivered: number } {
  const { duplicates } = assertTrainedOnce(h, spans, complete);
  const { trainedGroups, dispatchIds } = assertAccounting(h, status, spans);
  const lost = dispatchIds.size - trainedGroups.size - status.accounting.droppedStale - status.accounting.filtered - status.accounting.rejected - status.inFlight;
  return { lost, duplicates, redelivered: redeliveredSpans(spans).length };
}

/** Spans grouped by trace id. */
export function byTrace(spans: readonly SpanRecord[]): Map<string, SpanRecord[]> {
  const out = new Map<string, SpanRecord[]>();
  for (const s of spans) out.set(s.traceId, [...(out.get(s.traceId) ?? []), s]);
  return out;
}

/** Parent links of one trace: exactly one root, every other span's parent is in the trace. */
export function traceProblems(trace: readonly SpanRecord[]): string[] {
  const ids = new Set(trace.map((s) => s.spanId));
  const roots = trace.filter((s) => s.parentSpanId === null);
  const problems = trace.filter((s) => s.parentSpanId !== null && !ids.has(s.parentSpanId)).map((s) => `${s.name} (${s.serviceName}) has missing parent ${s.parentSpanId}`);
  if (roots.length !== 1) problems.push(`${roots.length} roots: ${roots.map((r) => r.name).join(', ')}`);
  return problems;
}
