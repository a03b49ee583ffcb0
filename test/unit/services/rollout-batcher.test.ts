// The rollout worker's group batcher: groups submitted together share one generate call (up to maxSequences rows),
// incompatible sampling splits calls, and one failing group does not fail the groups batched with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupBatcher } from '../../../services/rollout/batcher.ts';
import { pullSizeFor } from '../../../services/rollout/worker.ts';
import type { RolloutRequest } from '../../../src/actors/index.ts';
import type { Trajectory } from '../../../src/generated/rlmesh/v1/common.ts';

function req(groupId: string, groupSize: number, temperature = 1): RolloutRequest {
  return {
    runId: 'r', groupId, groupSize, workerId: 'w',
    task: { taskId: groupId, prompt: '1+1=' } as RolloutRequest['task'],
    sampling: { temperature, topK: 0, topP: 1, maxNewTokens: 8, stopTokenIds: [], seed: 0 },
  };
}

function fakeBatcher(maxSequences: number, failOn?: string, maxGroups = 16) {
  const calls: string[][] = [];
  const batcher = new GroupBatcher({
    generate: (reqs) => {
      calls.push(reqs.map((r) => r.groupId));
      if (failOn && reqs.some((r) => r.groupId === failOn)) throw new Error(`bad ${failOn}`);
      return reqs.map((r) => Array.from({ length: r.groupSize }, (_, i) => ({ trajectoryId: `${r.groupId}/${i}` }) as Trajectory));
    },
    compatible: (a, b) => a.sampling.temperature === b.sampling.temperature,
    maxSequences,
    maxGroups,
    lingerMs: 5,
  });
  return { batcher, calls };
}

test('groups that arrive together share one generate call; each gets its own trajectories back', async () => {
  const { batcher, calls } = fakeBatcher(32);
  const started: string[] = [];
  const out = await Promise.all(['a', 'b', 'c'].map((g) => batcher.submit(req(g, 4), () => started.push(`${g}@${calls.length}`))));
  assert.deepEqual(calls, [['a', 'b', 'c']]);
  assert.deepEqual(started, ['a@0', 'b@0', 'c@0'], 'onStart runs for every group just before their call');
  assert.deepEqual(out.map((ts) => ts.map((t) => t.trajectoryId)), [['a/0', 'a/1', 'a/2', 'a/3'], ['b/0', 'b/1', 'b/2', 'b/3'], ['c/0', 'c/1', 'c/2', 'c/3']]);
});

test('a full batch starts at once; the rest wait for the next call; incompatible sampling goes to its own call', async () => {
  const { batcher, calls } = fakeBatcher(8);
  const a = batcher.submit(req('a', 4));
  const b = batcher.submit(req('b', 4)); // 8 rows: runs now, before the linger
  assert.deepEqual(calls, [['a', 'b']]);
  await Promise.all([a, b, batcher.submit(req('c', 4)), batcher.submit(req('d', 2, 0.5)), batcher.submit(req('e', 2))]);
  assert.deepEqual(calls, [['a', 'b'], ['c', 'e'], ['d']]);
});

test('a call starts at once when every group the worker can hold is waiting', () => {
  const { batcher, calls } = fakeBatcher(32, undefined, 2);
  void batcher.submit(req('a', 1));
  assert.deepEqual(calls, []);
  void batcher.submit(req('b', 1));
  assert.deepEqual(calls, [['a', 'b']]);
});

test('one failing group is rejected alone; the groups batched with it still get their trajectories', async () => {
  const { batcher } = fakeBatcher(32, 'bad');
  const results = await Promise.allSettled(['x', 'bad', 'y'].map((g) => batcher.submit(req(g, 2))));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[0] as PromiseFulfilledResult<Trajectory[]>).value.length, 2);
});

test('each generate call is published once, whole groups together; its groups settle only after the publish', async () => {
  const published: string[][] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const batcher = new GroupBatcher({
    generate: (reqs) => reqs.map((r) => Array.from({ length: r.groupSize }, (_, i) => ({ trajectoryId: `${r.groupId}/${i}`, traceContext: r.traceContext }) as Trajectory)),
    publish: async (groups) => { published.push(groups.flat().map((t) => t.trajectoryId)); await gate; },
    compatible: () => true, maxSequences: 32, maxGroups: 2, lingerMs: 5,
  });
  let settled = 0;
  const ctx = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
  const out = ['a', 'b'].map((g) => batcher.submit({ ...req(g, 2), traceContext: ctx }).then((ts) => { settled++; return ts; }));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(published, [['a/0', 'a/1', 'b/0', 'b/1']], 'one message for the call');
  assert.equal(settled, 0, 'nothing settles (no task is acked) before the publish');
  release();
  const [a] = await Promise.all(out);
  assert.equal(a![0]!.traceContext, ctx);

  const failing = new GroupBatcher({
    generate: (reqs) => reqs.map((r) => [{ trajectoryId: `${r.groupId}/0` } as Trajectory]),
    publish: async () => { throw new Error('broker down'); },
    compatible: () => true, maxSequences: 32, maxGroups: 2, lingerMs: 5,
  });
  const results = await Promise.allSettled(['x', 'y'].map((g) => failing.submit(req(g, 1))));
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'], 'a failed publish fails every group of the call (their tasks are redelivered)');
});

test('pull size fills a generate call but takes no more than a worker share of the groups in flight', () => {
  assert.equal(pullSizeFor({ groupSize: 4, maxInFlight: 48, workers: 1 }), 8);
  assert.equal(pullSizeFor({ groupSize: 4, maxInFlight: 48, workers: 2 }), 8);
  assert.equal(pullSizeFor({ groupSize: 8, maxInFlight: 4, workers: 2 }), 2);
  assert.equal(pullSizeFor({ groupSize: 64, maxInFlight: 16, workers: 2 }), 1);
});

test('rolloutGroups: groups of different prompt lengths batched in one call sample what each samples alone (top-1)', async () => {
  const { initBackend } = await import('../../../src/engine/index.ts');
  const { loadPolicy, rolloutGroup, rolloutGroups } = await import('../../../src/actors/index.ts');
  const { listTasks, toTaskSpec } = await import('../../../src/tasks/index.ts');
  await initBackend('wasm', () => {});
  const policy = await loadPolicy('models/student');
  try {
    const tasks = listTasks({ suite: 'add:1-2', split: 'train', limit: 3, seed: 3 });
    const reqs = tasks.map((t, i): RolloutRequest => ({
      ...req(`g${i}`, i + 1), task: toTaskSpec(t) as RolloutRequest['task'],
      sampling: { temperature: 1, topK: 1, topP: 1, maxNewTokens: 24, stopTokenIds: [], seed: 0 },
    }));
    const together = rolloutGroups(policy, reqs);
    assert.ok(new Set(together.map((g) => g[0]!.promptTokenIds.length)).size > 1, 'the prompts need different lengths (left padding)');
    assert.deepEqual(together.map((g) => g.length), [1, 2, 3]);
    together.forEach((group, j) => {
      const alone = rolloutGroup(policy, reqs[j]!);
      assert.deepEqual(group.map((t) => t.trajectoryId), alone.map((t) => t.trajectoryId));
      assert.deepEqual(group.map((t) => t.promptTokenIds), alone.map((t) => t.promptTokenIds));
      assert.deepEqual(group.map((t) => t.completionTokenIds), alone.map((t) => t.completionTokenIds));
    });
  } finally {
    policy.model.dispose();
  }
});

test('rolloutGroups: a group whose prompt nearly fills the context runs in a call of its own and shortens no other group', async () => {
  const { initBackend } = await import('../../../src/engine/index.ts');
  const { loadPolicy, rolloutGroup, rolloutGroups } = await import('../../../src/actors/index.ts');
  const { listTasks, toTaskSpec } = await import('../../../src/tasks/index.ts');
  await initBackend('wasm', () => {});
  const policy = await loadPolicy('models/student'); // 64 positions
  try {
    const [short] = listTasks({ suite: 'add:1', split: 'train', limit: 1, seed: 3 });
    const sampling = { temperature: 1, topK: 1, topP: 1, maxNewTokens: 24, stopTokenIds: [], seed: 0 };
    const normal: RolloutRequest = { ...req('g-short', 2), task: toTaskSpec(short!) as RolloutRequest['task'], sampling };
    const long: RolloutRequest = { ...req('g-long', 1), task: { ...normal.task, prompt: '1+2=?'.padEnd(60, ' ') }, sampling }; // 61 tokens: room for 3
    const [withLong, alone] = [rolloutGroups(policy, [normal, long]), rolloutGroup(policy, normal)];
    assert.deepEqual(withLong[0]!.map((t) => t.completionTokenIds), alone.map((t) => t.completionTokenIds), 'the short group samples what it samples alone');
    assert.ok(alone[0]!.completionTokenIds.length > 3, 'the short group needs more than the long one\'s 3 tokens');
    assert.equal(withLong[1]![0]!.completionTokenIds.length, 3, 'the long group gets the 3 positions its prompt leaves');
    assert.equal(withLong[1]![0]!.truncated, true);
  } finally {
    policy.model.dispose();
  }
});

test('chunkByRows keeps order and never exceeds the row bound (a larger group goes alone)', async () => {
  const { chunkByRows } = await import('../../../src/actors/index.ts');
  const sizes = (cs: Array<Array<{ groupSize: number }>>) => cs.map((c) => c.map((r) => r.groupSize));
  assert.deepEqual(sizes(chunkByRows([8, 8, 8, 8, 8].map((groupSize) => ({ groupSize })), 32)), [[8, 8, 8, 8], [8]]);
  assert.deepEqual(sizes(chunkByRows([4, 40, 4, 4].map((groupSize) => ({ groupSize })), 32)), [[4], [40], [4, 4]]);
  assert.deepEqual(chunkByRows([], 32), []);
});
