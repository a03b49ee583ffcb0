// DAPO dynamic sampling through the real pipeline: a GRPO run with `batch_filter: dapo-dynamic-sampling` (separate
// verifier, learner and rollout processes over NATS). Groups whose samples are all wrong (most of them, for the
// shipped student) are set aside by the learner with `filtered` feedback; every trained batch has contrast; the
// controller accounts every dispatched group as trained, filtered or in flight. Prints `dynamic sampling {...}`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunHarness } from './harness.ts';
import { assertNothingLost } from './run-checks.ts';

const STEPS = 3;
let h: RunHarness | undefined;
let figures: Record<string, number> = {};

after(async () => {
  await h?.destroy().catch(() => undefined);
  process.stdout.write(`dynamic sampling ${JSON.stringify(figures)}\n`);
});

test('batch filter in a distributed GRPO run: all-equal groups set aside and accounted, trained batches all have contrast', async () => {
  h = await RunHarness.create({
    prefix: 'dapo',
    config: {
      mode: 'rlvr', teacher: null,
      rollout: { group_size: 4, max_in_flight: 6 },
      learner: { steps: STEPS, batch_size: 8 },
      objective: { name: 'grpo', params: {} },
      // Unlimited generation batches: every trained group must have contrast (no unfiltered fallback).
      batch_filter: { name: 'dapo-dynamic-sampling', params: { metric: 'correct', max_gen_batches: 0 } },
    },
  });
  const gw = await h.startActor('gateway');
  h.httpPort = Number(/http=(\d+)/.exec(gw.ready)![1]);
  await Promise.all(['verifier', 'learner', 'rollout-1', 'rollout-2'].map((l) => h!.startActor(l)));
  const final = await h.waitFinished(240_000);
  await h.stopAll();
  assert.equal(final.state, 'finished');
  assert.equal(final.step, STEPS);

  const steps = h.metricsLines().filter((m) => m.source === 'learner');
  assert.equal(steps.length, STEPS);
  for (const m of steps) {
    const acc = Number(m.accuracy);
    // 2 groups of 4, each with at least one right and one wrong sample: accuracy in [2/8, 6/8].
    assert.ok(acc >= 0.25 && acc <= 0.75, `step ${m.step}: batch accuracy ${acc} comes from groups with contrast`);
    assert.equal(m.filter_exhausted, 0);
  }
  const filteredByLearner = Number(steps.at(-1)!.filtered_groups_total);
  assert.ok(final.accounting.filtered > 0, 'the student gets most groups all wrong: some were filtered');
  assert.ok(filteredByLearner >= final.accounting.filtered - final.inFlight, `learner set aside ${filteredByLearner}, controller counted ${final.accounting.filtered}`);
  const { lost, duplicates } = assertNothingLost(h, final, h.spans());
  assert.equal(lost, 0);
  assert.equal(duplicates, 0);
  figures = { ...final.accounting, inFlight: final.inFlight, filteredByLearner };
});
