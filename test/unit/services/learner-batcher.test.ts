// The learner's group batcher: whole groups only, redeliveries merged, and with a batch filter each complete group
// screened once — filtered groups (with any late member or redelivery) handed out apart, never in a batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupBatcher, type Pending } from '../../../services/learner/batcher.ts';
import { DynamicSamplingFilter } from '../../../src/curriculum/index.ts';
import type { Trajectory } from '../../../src/generated/rlmesh/v1/common.ts';

/** One delivery of sample `i` of group `g` (G members), correct or not; records how it settled. */
function delivery(g: string, i: number, G: number, correct: boolean, settled: string[]): Pending {
  const trajectory = { trajectoryId: `${g}/${i}`, groupId: g, groupSize: G, reward: { total: correct ? 1 : 0, correct } } as Trajectory;
  return { trajectory, resolve: () => settled.push(`ok ${g}/${i}`), reject: () => settled.push(`fail ${g}/${i}`) };
}

const ids = (ps: readonly Pending[] | null) => (ps ?? []).map((p) => p.trajectory.trajectoryId);

test('without a filter: a batch is whole complete groups adding up to the batch size', () => {
  const settled: string[] = [];
  const b = new GroupBatcher(4);
  b.add(delivery('a', 0, 2, true, settled));
  b.add(delivery('b', 0, 2, true, settled));
  b.add(delivery('a', 1, 2, false, settled));
  assert.equal(b.take(), null, 'b is incomplete');
  b.add(delivery('b', 1, 2, true, settled));
  assert.deepEqual(ids(b.take()), ['a/0', 'a/1', 'b/0', 'b/1']);
  assert.deepEqual(b.takeFiltered(), [], 'no filter, nothing set aside');
});

test('with a filter: all-equal groups are set aside once, the batch waits for groups with contrast', () => {
  const settled: string[] = [];
  const filter = new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 0 }, 2);
  const b = new GroupBatcher(4, 30_000, (g) => filter.admit(g));
  for (const [g, c] of [['a', [true, false]], ['b', [false, false]], ['c', [true, true]]] as const) {
    c.forEach((x, i) => b.add(delivery(g, i, 2, x, settled)));
  }
  assert.equal(b.take(), null, 'only one group (a) has contrast');
  assert.deepEqual(b.takeFiltered().map(ids), [['b/0', 'b/1'], ['c/0', 'c/1']]);
  assert.deepEqual(b.takeFiltered(), [], 'handed out once');
  assert.deepEqual(filter.stats(), { seen: 3, filtered: 2, exhausted: false }, 'each group screened exactly once');
  [false, true].forEach((x, i) => b.add(delivery('d', i, 2, x, settled)));
  assert.deepEqual(ids(b.take()), ['a/0', 'a/1', 'd/0', 'd/1']);
  assert.equal(filter.stats().seen, 4);
  assert.equal(b.size, 0);
});

test('a redelivery of a member of a filtered group waiting to be handed out settles with it', () => {
  const settled: string[] = [];
  const b = new GroupBatcher(2, 30_000, () => false);
  b.add(delivery('a', 0, 2, false, settled));
  b.add(delivery('a', 1, 2, false, settled));
  assert.equal(b.take(), null);
  b.add(delivery('a', 1, 2, false, settled)); // redelivered while set aside
  assert.equal(b.repeats, 1);
  const [group] = b.takeFiltered();
  assert.deepEqual(ids(group!), ['a/0', 'a/1']);
  for (const p of group!) p.resolve();
  assert.deepEqual(settled, ['ok a/0', 'ok a/1', 'ok a/1'], 'both deliveries of a/1 are acknowledged');
});

test('failAll rejects filtered groups not yet handed out too', () => {
  const settled: string[] = [];
  const b = new GroupBatcher(2, 30_000, () => false);
  b.add(delivery('a', 0, 1, false, settled));
  assert.equal(b.take(), null);
  b.failAll(new Error('stopping'));
  assert.deepEqual(settled, ['fail a/0']);
  assert.deepEqual(b.takeFiltered(), []);
});
