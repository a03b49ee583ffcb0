// planRun (src/platform/nats/provision.ts) on servers with and without a safe byte limit for discard-new streams;
// stream replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlmeshError } from '../../../src/errors.ts';
import { byteLimitIsSafe, byteLimitWarning, planRun } from '../../../src/platform/nats/index.ts';

test('the byte limit of discard-new streams is trusted from nats-server 2.10.5 on (an unknown version is not)', () => {
  for (const v of ['2.10.5', 'v2.10.5', '2.10.22', '2.11.0', '3.0.1']) assert.equal(byteLimitIsSafe(v), true, v);
  for (const v of ['2.9.10', '2.9.25', '2.10.4', '1.4.1', '', 'nonsense', undefined]) assert.equal(byteLimitIsSafe(v), false, String(v));
  assert.equal(byteLimitWarning('2.10.5'), null);
  assert.match(byteLimitWarning('2.9.10')!, /nats-server 2\.9\.10 can drop stored messages .* bounded by message count only/);
});

test('on a server with the byte-count defect the work streams are bounded by messages only; the weights log keeps its bytes', () => {
  const limits = (version: string) => new Map(planRun('r', { maxMsgs: 50, maxBytes: 4096, serverVersion: version }).map((p) => [p.stage, p.config]));
  const safe = limits('2.10.5');
  const old = limits('2.9.10');
  for (const [stage, config] of safe) {
    assert.equal(config.max_msgs, stage === 'weights' ? 64 : 50, stage);
    assert.equal(config.max_bytes, 4096, stage);
    const before = old.get(stage)!;
    assert.equal(before.max_msgs, config.max_msgs, `${stage}: the message bound stays`);
    assert.equal(before.max_bytes, stage === 'weights' ? 4096 : -1, stage);
    assert.equal(before.discard, stage === 'weights' ? 'old' : 'new', stage);
  }
});

test('every stream of a run gets the asked replicas (default 1); more than JetStream keeps is refused naming replicas', () => {
  for (const p of planRun('r')) assert.equal(p.config.num_replicas, 1, p.stage);
  for (const p of planRun('r', { replicas: 3 })) assert.equal(p.config.num_replicas, 3, p.stage);
  for (const bad of [0, 6, 1.5]) {
    assert.throws(() => planRun('r', { replicas: bad }), (e: unknown) => e instanceof RlmeshError && e.field === 'replicas', String(bad));
  }
});
