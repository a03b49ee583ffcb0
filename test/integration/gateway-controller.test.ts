// The run controller (services/gateway/controller.ts) against the real NATS at RLMESH_NATS_URL, fed learner
// messages by hand: bad metrics and feedback are dead-lettered naming the field without ending, stalling or
// miscounting the run, and the curriculum learns once per learner step from all of the step's groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileRunConfig } from '../../src/config/index.ts';
import { MetricsEvent, RolloutTask, TaskFeedback } from '../../src/generated/rlmesh/v1/common.ts';
import { Header, publishProto, runNames } from '../../src/platform/nats/index.ts';
import { RunController, RunState } from '../../services/gateway/controller.ts';
import { readMessages, useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-controller');

/**
 * A started controller of a fresh GRPO run on add:1-3 with a SEC curriculum (`over` replaces top-level config keys);
 * nothing consumes its tasks.
 */
async function startController(maxInFlight: number, over: Record<string, unknown> = {}) {
  const runId = nats.newRunId('ctl');
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-ctl-'));
  const run = compileRunConfig({
    run_id: runId, mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-3' },
    rollout: { group_size: 4, max_in_flight: maxInFlight }, learner: { steps: 10, batch_size: 4 * maxInFlight, max_staleness: 2 }, // one step: the groups in flight
    objective: { name: 'grpo', params: {} }, curriculum: { name: 'sec' }, ...over,
  });
  const controller = () => new RunController({ nc: nats.nc, js: nats.js, jsm: nats.jsm, run, dir, log: () => undefined });
  let ctl = controller();
  await ctl.start();
  const names = runNames(runId);
  const group = (i: number) => `${runId}-g${i}`;
  const feedback = (o: Partial<TaskFeedback>) => publishProto(nats.js, names.stages.feedback.subject, TaskFeedback, TaskFeedback.fromPartial({
    runId, category: 'add', difficulty: 1, samples: 4, passRate: 0.5, meanAbsAdvantage: 0.4, meanReward: 0.5, step: 1, ...o,
  }));
  const metrics = (o: Partial<MetricsEvent>) => publishProto(nats.js, names.stages.metrics.subject, MetricsEvent, MetricsEvent.fromPartial({ runId, source: 'learner', step: 1, ...o }));
  const saved = () => JSON.parse(readFileSync(path.join(dir, 'controller-state.json'), 'utf8')) as {
    curriculum: { step: number; sampler: { data: { q: number[] } } }; pending: unknown[]; closedThrough: number;
  };
  const stop = async () => { await ctl.close(); rmSync(dir, { recursive: true, force: true }); };
  /** A new controller on the same run folder, as after a gateway restart. */
  const restart = async () => { await ctl.close(); ctl = controller(); await ctl.start(); };
  /** The next dispatched task (read as the rollout consumer). */
  const nextTask = async () => RolloutTask.decode((await readMessages(nats.js, names.stages.tasks.stream, 'rollout', 1))[0]!.data);
  return { get ctl() { return ctl; }, names, group, feedback, metrics, saved, stop, restart, nextTask };
}

type Started = Awaited<ReturnType<typeof startController>>;

/** A started controller with `maxInFlight` groups dispatched, handed to `body`, stopped after it. */
async function withController(maxInFlight: number, body: (c: Started) => Promise<void>, over: Record<string, unknown> = {}): Promise<void> {
  const c = await startController(maxInFlight, over);
  try {
    await until(`${maxInFlight} groups in flight`, () => c.ctl.status().inFlight === maxInFlight);
    await body(c);
  } finally {
    await c.stop();
  }
}

async function until(what: string, cond: () => boolean, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > limitMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const reasons = async (names: ReturnType<typeof runNames>, count: number) =>
  (await readMessages(nats.js, names.stages.dead.stream, 'gateway', count)).map((m) => m.headers?.get(Header.deadReason) ?? '');

test('metrics of another run, a step past the end or a bad policy version are dead-lettered naming the field; the run goes on', () => withController(2, async (c) => {
  await c.metrics({ runId: 'another-run', step: 99 });
  await c.metrics({ step: 99 });
  await c.metrics({ step: 1, values: { policy_version: Number.NaN } });
  await c.metrics({ step: 1, values: { policy_version: 1e15 } });
  await c.metrics({ step: 1, values: { policy_version: 0.5 } });
  const why = await reasons(c.names, 5);
  assert.equal(why.filter((r) => r.includes('metrics.run_id')).length, 1, why.join('\n'));
  assert.equal(why.filter((r) => r.includes('metrics.step: must be an integer in 0-10, got 99')).length, 1, why.join('\n'));
  assert.equal(why.filter((r) => r.includes('metrics.values.policy_version')).length, 3, why.join('\n'));
  const s = c.ctl.status();
  assert.equal(s.state, RunState.running, 'a stray metrics event must not end the run');
  assert.deepEqual([s.step, s.policyVersion], [0, 0]);
  // Dispatch still works, with finite minimum versions: a freed slot is refilled.
  await c.feedback({ groupId: c.group(0) });
  await until('g2 dispatched', () => c.ctl.status().accounting.dispatched === 3);
  const tasks = await readMessages(nats.js, c.names.stages.tasks.stream, 'rollout', 3);
  for (const m of tasks) assert.ok(Number.isInteger(RolloutTask.decode(m.data).minPolicyVersion));
  // A valid event is recorded.
  await c.metrics({ step: 1, values: { policy_version: 1 } });
  await until('step 1 recorded', () => c.ctl.status().step === 1);
  assert.equal(c.ctl.status().policyVersion, 1);
}));

test('bad feedback for an open group is dead-lettered, frees its slot for a new group and counts it rejected, never learned from', () => withController(2, async (c) => {
  await c.feedback({ groupId: c.group(0), passRate: Number.NaN });
  await c.feedback({ groupId: c.group(1), meanAbsAdvantage: 1e308 });
  await until('both slots refilled', () => c.ctl.status().accounting.dispatched === 4);
  await c.feedback({ groupId: c.group(2), step: 12 }); // the run has 10 steps (set-aside groups may name step 11)
  const why = await reasons(c.names, 3);
  assert.ok(why.some((r) => r.includes('feedback.0.passRate')), why.join('\n'));
  assert.ok(why.some((r) => r.includes('feedback.0.meanAbsAdvantage')), why.join('\n'));
  assert.ok(why.some((r) => r.includes('feedback.step: must be in 1-11, got 12')), why.join('\n'));
  await until('the third slot refilled', () => c.ctl.status().accounting.dispatched === 5);
  const s = c.ctl.status();
  assert.equal(s.inFlight, 2);
  assert.deepEqual([s.accounting.completed, s.accounting.rejected], [0, 3]);
  const a = s.accounting;
  assert.equal(a.completed + a.droppedStale + a.filtered + a.rejected + s.inFlight, a.dispatched, 'every dispatched group is accounted for');
  await until('dead letters counted', () => c.ctl.status().accounting.deadLettered === 3);
  for (const p of s.curriculum) assert.ok(Number.isFinite(p.probability), `probability of ${p.key} is ${p.probability}`);
  assert.deepEqual(c.saved().curriculum.sampler.data.q, [0, 0, 0]);
}));

test('the curriculum learns once per learner step, from all of the step\'s groups, also when the step\'s metrics come first', () => withController(4, async (c) => {
  // Metrics travel on their own stream and can overtake the step's feedback: they must not close the step.
  await c.feedback({ groupId: c.group(0), step: 1 });
  await c.metrics({ step: 1, values: { policy_version: 1 } });
  await until('step 1 recorded', () => c.ctl.status().step === 1);
  for (let i = 1; i < 4; i++) await c.feedback({ groupId: c.group(i), step: 1 });
  await until('the 4 groups of step 1 held', () => c.saved().pending.length === 4);
  assert.equal(c.saved().curriculum.step, 0, 'step 1 is still open');
  // Feedback of step 2 closes step 1: one SEC update of arm add-d1 with the step's mean |advantage| 0.4,
  // Q = (1 - 0.5) * 0 + 0.5 * 0.4. One update per group would have given 0.375 (or 0.2 then 0.3, ... when split).
  await c.feedback({ groupId: c.group(4), step: 2 });
  await until('step 1 closed', () => c.saved().curriculum.step === 1);
  assert.deepEqual(c.saved().curriculum.sampler.data.q.map((q) => Number(q.toFixed(6))), [0.2, 0, 0]);
  assert.equal(c.saved().pending.length, 1);
  await c.feedback({ groupId: c.group(5), step: 2 });
  await c.feedback({ groupId: c.group(6), step: 3 });
  await until('step 2 closed', () => c.saved().curriculum.step === 2);
  assert.equal(c.saved().pending.length, 1);
  // The run's last metrics end it; the step still held (3) is learned from then, none is left pending.
  await c.metrics({ step: 10, values: { policy_version: 10, done: 1 } });
  await until('finished', () => c.ctl.status().state === RunState.finished);
  assert.equal(c.saved().curriculum.step, 3);
  assert.equal(c.saved().pending.length, 0);
  assert.equal(c.ctl.status().accounting.completed, 7);
}));

test('feedback held for an open step survives a gateway restart and is learned from with the rest of its step', () => withController(4, async (c) => {
  await c.feedback({ groupId: c.group(0), step: 1, meanAbsAdvantage: 0.1 });
  await c.feedback({ groupId: c.group(1), step: 1, meanAbsAdvantage: 0.7 });
  await until('two groups held', () => c.saved().pending.length === 2);
  await c.restart();
  assert.equal(c.saved().pending.length, 2, 'the new controller holds them (its first save wrote what it restored)');
  await c.feedback({ groupId: c.group(2), step: 1, meanAbsAdvantage: 0.1 });
  await c.feedback({ groupId: c.group(3), step: 2 });
  await until('step 1 closed', () => c.saved().curriculum.step === 1);
  // one update with the three groups of step 1, two of them from before the restart: mean |A| (0.1 + 0.7 + 0.1) / 3,
  // Q = 0.5 * 0.3 (the group after the restart alone would give 0.05)
  assert.deepEqual(c.saved().curriculum.sampler.data.q.map((q) => Number(q.toFixed(6))), [0.15, 0, 0]);
  assert.equal(c.ctl.status().accounting.completed, 4);
}));


test('feedback consumed after a run is stopped is still recorded, and each closed step is announced for curriculum.jsonl', () => withController(2, async (c) => {
  const closed: number[] = [];
  c.ctl.on('curriculum', (e: { step: number; curriculum: Array<{ probability: number }> }) => {
    closed.push(e.step);
    assert.ok(e.curriculum.every((p) => Number.isFinite(p.probability)));
  });
  await c.feedback({ groupId: c.group(0), step: 1 });
  await c.feedback({ groupId: c.group(1), step: 2 });
  await until('step 1 closed', () => closed.length === 1);
  assert.deepEqual(closed, [1]);
  await c.ctl.end(RunState.stopped);
  await c.feedback({ groupId: c.group(2), step: 2 });
  await until('the stopped run recorded it', () => c.ctl.status().accounting.completed === 3);
  await until('saved', () => c.saved().pending.length === 2);
  assert.equal(c.ctl.status().accounting.dispatched, 4, 'a stopped run dispatches nothing new');
}));

test('a length budget the curriculum sets (tlts-budget) travels with each dispatched task to the verifier', () => withController(2, async (c) => {
  for (const { task } of [await c.nextTask(), await c.nextTask()]) {
    assert.equal(task!.params.length_budget, '40', 'the budget at step 0');
    assert.match(task!.prompt, / \(use exactly 40 tokens\)$/, 'the prompt states it (9c)');
  }
}, {
  reward: { weights: { correctness: 1, length: 0.5 } },
  curriculum: { name: 'uniform', layers: [{ name: 'tlts-budget', params: { start: 40, final: 20, decrements: 2 } }] },
}));

test('the learner\'s held-out entropy reaches the curriculum: the entropy-gated length grows between dispatches', () => withController(1, async (c) => {
  const finish = async (g: number, step: number, entropy?: number) => {
    await c.metrics({ step, values: { policy_version: step, ...(entropy === undefined ? {} : { heldout_entropy: entropy }) } });
    await c.feedback({ groupId: c.group(g), step });
  };
  const lengths = [(await c.nextTask()).sampling!.maxNewTokens];
  // step 1 measures the initial entropy (1.0); step 2 keeps it above half of that: the stage ends and the ladder grows
  await finish(0, 1, 1.0);
  lengths.push((await c.nextTask()).sampling!.maxNewTokens);
  await finish(1, 2, 0.9);
  lengths.push((await c.nextTask()).sampling!.maxNewTokens);
  await finish(2, 3);
  lengths.push((await c.nextTask()).sampling!.maxNewTokens);
  assert.equal(lengths[0], 8);
  assert.ok(lengths[3]! > 8, `max_new_tokens per dispatch: ${lengths}`);
}, {
  curriculum: { name: 'uniform', layers: [{ name: 'entropy-gated-length', params: { start_length: 8, max_length: 64, steps_per_stage: 1, min_entropy_ratio: 0.5 } }] },
}));
