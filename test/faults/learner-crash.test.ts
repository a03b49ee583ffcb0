// Learner crash inside a step: a tiny run whose learner SIGKILLs itself (RLMESH_FAILPOINTS) at step 3 at each point
// of the step pipeline — after the optimizer step (nothing persisted), once the weights object is stored (the
// checkpoint written alongside, maybe not done), after the checkpoint (version not announced), after the weights
// announcement (feedback not sent) — and is restarted with the same arguments. Checks: the run
// completes, every learner step is reported once, every dispatched group is trained (once) or accounted for, and the
// weights stream and object store never hold two different sha256 for one version. Prints `fault learner-crash {...}`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadCheckpoint } from '../../src/engine/checkpoint.ts';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { sha256Hex, WeightStore } from '../../src/platform/nats/index.ts';
import { LearnerFailpoint } from '../../services/learner/failpoints.ts';
import { RunHarness } from '../e2e/harness.ts';
import { storedAnnouncements } from '../fixtures/nats-session.ts';
import { assertNothingLost } from '../e2e/run-checks.ts';

const STEPS = 5;
const CRASH_STEP = 3;
const outcomes: Array<Record<string, number | string>> = [];
const harnesses: RunHarness[] = [];

after(async () => {
  for (const h of harnesses) await h.destroy().catch(() => undefined);
  for (const o of outcomes) process.stdout.write(`fault learner-crash ${JSON.stringify(o)}\n`);
});

/** Every announcement on the run's weights stream, in order. */
async function announcements(h: RunHarness): Promise<WeightsAnnouncement[]> {
  const nc = await connect({ servers: h.nats.url });
  try {
    return await storedAnnouncements(await jetstreamManager(nc), h.runId);
  } finally {
    await nc.close();
  }
}

/** Version -> the sha256 values seen for it: in announcements and in the object store (blob verified by get()). */
async function weightShas(h: RunHarness, anns: readonly WeightsAnnouncement[]): Promise<Map<number, Set<string>>> {
  const shas = new Map<number, Set<string>>();
  const add = (v: number, sha: string) => shas.set(v, (shas.get(v) ?? new Set()).add(sha));
  for (const a of anns) add(a.version, a.sha256);
  const nc = await connect({ servers: h.nats.url });
  try {
    const store = await WeightStore.open(jetstream(nc), h.runId);
    for (const w of await store.list()) add(w.version, (await store.get(w.version)).info.sha256);
  } finally {
    await nc.close();
  }
  return shas;
}

async function crashAndRestart(point: LearnerFailpoint): Promise<void> {
  const h = await RunHarness.create({ prefix: `lcrash-${point.split('.')[1]}`, config: { learner: { steps: STEPS }, nats: { ack_wait_ms: 4000, max_deliver: 10 } } });
  harnesses.push(h);
  // Only the first learner carries the failpoint: children copy the environment when they are spawned.
  process.env.RLMESH_FAILPOINTS = `${point}:${CRASH_STEP}`;
  try {
    await h.startAll(2);
  } finally {
    delete process.env.RLMESH_FAILPOINTS;
  }
  const first = h.processes.get('learner')!;
  const exit = await Promise.race([first.proc.exited, new Promise((r) => setTimeout(() => r('timeout'), 180_000))]);
  assert.equal(exit, 'SIGKILL', `${point}: the learner killed itself (exit ${String(exit)})`);
  assert.match(h.log('learner'), new RegExp(`failpoint ${point.replace('.', '\\.')} at step ${CRASH_STEP}: SIGKILL`));
  const t0 = Date.now();
  await h.startActor('learner');
  const resumedLine = /resumed from .* at step (\d+)/.exec(h.log('learner.1'));
  const resumedAt = Number(resumedLine?.[1] ?? 0);
  // Nothing persisted at the first point (resume at step 2 and train step 3 again); at the others step 3 is kept,
  // except right after the weights object is stored: the checkpoint is written alongside and may not be done yet.
  const resumable = point === LearnerFailpoint.afterStep ? [CRASH_STEP - 1]
    : point === LearnerFailpoint.afterWeightsStored ? [CRASH_STEP - 1, CRASH_STEP] : [CRASH_STEP];
  assert.ok(resumable.includes(resumedAt), `${point}: resumed at step ${resumedAt}, expected one of ${resumable.join(', ')}`);
  assert.match(h.log('learner.1'), new RegExp(`re-published \\d+ outbox messages of step ${resumedAt}`));
  await h.waitFor((s) => s.step > CRASH_STEP || s.state !== 'running', `a learner step after ${CRASH_STEP}`, 180_000);
  const recoveryMs = Date.now() - t0;
  const final = await h.waitFinished(180_000);
  await h.stopAll();

  assert.equal(final.state, 'finished', `${point}: run state`);
  assert.equal(final.step, STEPS);
  assert.equal(h.trainerState().step, STEPS);
  // No step lost, none reported twice (a re-published metrics event is dropped by its Nats-Msg-Id).
  const learnerSteps = h.metricsLines().filter((m) => m.source === 'learner').map((m) => Number(m.step)).sort((a, b) => a - b);
  assert.deepEqual(learnerSteps, Array.from({ length: STEPS }, (_, i) => i + 1), `${point}: learner metrics steps`);
  const spans = h.spans();
  // The killed learner's last spans were never exported, so links into them are skipped.
  const { lost, duplicates } = assertNothingLost(h, final, spans, false);

  const anns = await announcements(h);
  const shas = await weightShas(h, anns);
  const conflicting = [...shas].filter(([, s]) => s.size > 1);
  assert.deepEqual(conflicting.map(([v, s]) => `v${v}: ${[...s].join(' / ')}`), [], `${point}: one sha256 per weights version`);
  const versions = [...new Set(anns.map((a) => a.version))].sort((a, b) => a - b);
  assert.deepEqual(versions, Array.from({ length: STEPS + 1 }, (_, i) => i), `${point}: every version 0..${STEPS} announced`);
  // The last announced weights are the checkpoint's.
  const ckpt = await loadCheckpoint(path.join(h.runDir, 'checkpoints', 'latest'));
  assert.equal(sha256Hex(encodeSafetensors(ckpt.weights)), [...shas.get(STEPS)!][0], `${point}: v${STEPS} = the final checkpoint's weights`);

  outcomes.push({
    case: point, crashStep: CRASH_STEP, resumedAt, recoveryMs, steps: final.step,
    dispatched: final.accounting.dispatched, completed: final.accounting.completed, inFlight: final.inFlight,
    lost, duplicates,
    announcements: anns.length, conflictingVersions: conflicting.length,
  });
}

test('learner killed after the optimizer step, before the checkpoint: the step is redone, nothing lost', () => crashAndRestart(LearnerFailpoint.afterStep));
test('learner killed once its weights object is stored, its checkpoint maybe not: it resumes at step 2 or 3, one sha256 per version', () => crashAndRestart(LearnerFailpoint.afterWeightsStored));
test('learner killed after the checkpoint and the weights object, before the announcement: weights, feedback and metrics are sent on restart', () => crashAndRestart(LearnerFailpoint.afterCheckpoint));
test('learner killed after the weights publish, before feedback: one sha256 per version, feedback re-published', () => crashAndRestart(LearnerFailpoint.afterWeights));
