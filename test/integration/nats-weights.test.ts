// WeightStore against the real NATS: a 20 MB blob round-trips byte-exact (put/get MB/s printed as
// diagnostics), versions list/latest, pruning, corrupt metadata refused, missing version is not_found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { getSha256Backend, Objm } from '@nats-io/obj';
import { RlmeshError } from '../../src/errors.ts';
import { runNames, sha256Hex, WeightStore } from '../../src/platform/nats/index.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-weights');


const newRunId = () => nats.newRunId('weights');

test('a 20 MB weights blob round-trips byte-exact with its sha256 and metadata', async (t) => {
  const runId = newRunId();
  const store = await WeightStore.open(nats.js, runId);
  assert.equal(store.bucket, `rlmesh-weights-${runId}`);
  const blob = randomBytes(20 * 1024 * 1024);
  const t0 = performance.now();
  const info = await store.put(7, blob, { step: '70', dtype: 'float32' });
  const t1 = performance.now();
  const got = await store.get(7);
  const t2 = performance.now();
  const mb = blob.length / 1e6;
  t.diagnostic(`put 20 MB: ${(t1 - t0).toFixed(0)} ms (${(mb / ((t1 - t0) / 1e3)).toFixed(1)} MB/s), ${info.chunks} chunks`);
  t.diagnostic(`get 20 MB: ${(t2 - t1).toFixed(0)} ms (${(mb / ((t2 - t1) / 1e3)).toFixed(1)} MB/s)`);
  assert.equal(info.name, runNames(runId).weightsObject(7));
  assert.equal(info.name, 'policy-v7.safetensors');
  assert.equal(info.size, blob.length);
  assert.equal(info.sha256, sha256Hex(blob));
  assert.ok(info.chunks <= 21, `expected ~1 MiB chunks, got ${info.chunks} chunks`);
  assert.ok(Buffer.from(got.bytes).equals(blob), 'bytes differ');
  assert.deepEqual(got.info.meta, { step: '70', dtype: 'float32' });
  assert.equal(got.info.version, 7);
  assert.equal(got.info.sha256, info.sha256);
});

test('puts digest with node:crypto and stay readable by @nats-io/obj itself (its get verifies the object digest)', async () => {
  const runId = newRunId();
  const store = await WeightStore.open(nats.js, runId);
  assert.equal(getSha256Backend(), 'native');
  const blob = randomBytes(3 * 1024 * 1024 + 5);
  await store.put(1, blob);
  const os = await new Objm(nats.js).open(store.bucket);
  const info = await os.info(runNames(runId).weightsObject(1));
  assert.equal(info?.digest, `SHA-256=${Buffer.from(sha256Hex(blob), 'hex').toString('base64url')}=`);
  const viaObj = await os.getBlob(runNames(runId).weightsObject(1));
  assert.ok(viaObj && Buffer.from(viaObj).equals(blob), 'the object store client reads the same bytes');
});

test('list and latest follow versions; old versions are pruned past keep', async () => {
  const runId = newRunId();
  const store = await WeightStore.open(nats.js, runId, { keep: 2 });
  assert.equal(await store.latest(), null);
  for (const v of [1, 2, 3]) await store.put(v, new Uint8Array([v, v, v]));
  const versions = (await store.list()).map((w) => w.version);
  assert.deepEqual(versions, [2, 3]);
  assert.equal((await store.latest())!.version, 3);
  assert.deepEqual([...(await store.get(3)).bytes], [3, 3, 3]);
  await assert.rejects(store.get(1), (e: unknown) => e instanceof RlmeshError && e.category === 'not_found' && e.field === 'version');
  await assert.rejects(store.get(-1), (e: unknown) => e instanceof RlmeshError && e.category === 'config' && e.field === 'version');
});

test('info reads one version\'s record; a new process prunes what an earlier one left, then prunes without listing', async () => {
  const runId = newRunId();
  const first = await WeightStore.open(nats.js, runId, { keep: 0 });
  for (const v of [1, 2, 3, 4]) await first.put(v, new Uint8Array([v]));
  assert.equal((await first.info(3))?.sha256, sha256Hex(new Uint8Array([3])));
  assert.equal(await first.info(9), null);
  // a restarted learner keeping 2: its first put lists the bucket and prunes the earlier process's old versions;
  // later puts (also across a gap in versions, as with publish_every > 1) prune what they know without listing
  const second = await WeightStore.open(nats.js, runId, { keep: 2 });
  let listings = 0;
  const list = second.list.bind(second);
  second.list = () => { listings++; return list(); };
  await second.put(5, new Uint8Array([5]));
  for (const v of [6, 9, 12]) await second.put(v, new Uint8Array([v]));
  assert.equal(listings, 1, 'only the first prune lists the bucket');
  assert.deepEqual((await second.list()).map((w) => w.version), [12]);
  for (const v of [4, 5, 6, 9]) assert.equal(await second.info(v), null, `v${v} pruned`);
});

test('get refuses a blob whose stored sha256 does not match its bytes', async () => {
  const runId = newRunId();
  const store = await WeightStore.open(nats.js, runId);
  await store.put(1, new Uint8Array([1, 2, 3]));
  // Overwrite the object's metadata directly with a wrong digest.
  const os = await new Objm(nats.js).open(store.bucket);
  await os.update('policy-v1.safetensors', { metadata: { 'rlmesh-version': '1', 'rlmesh-sha256': '00'.repeat(32) } });
  await assert.rejects(store.get(1), (e: unknown) => e instanceof RlmeshError && e.category === 'data' && e.field === 'sha256');
});

test('reads leave nothing on the server: no consumers after gets and lists, and pruned versions leave no records', async () => {
  const runId = newRunId();
  const store = await WeightStore.open(nats.js, runId, { chunkBytes: 4096, keep: 2 });
  const stream = `OBJ_${store.bucket}`;
  const blobs = Array.from({ length: 6 }, (_, v) => randomBytes(10_000 + v));
  for (let v = 0; v < blobs.length; v++) await store.put(v, blobs[v]!);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(Buffer.from((await store.get(5)).bytes), blobs[5]);
    assert.equal((await store.latest())?.version, 5);
  }
  assert.deepEqual((await store.list()).map((w) => w.version), [4, 5]);
  assert.equal((await nats.jsm.consumers.list(stream).next()).length, 0, 'no consumers left on the bucket stream');
  const si = await nats.jsm.streams.info(stream, { subjects_filter: `$O.${store.bucket}.M.>` });
  assert.equal(Object.keys(si.state.subjects ?? {}).length, 2, 'only the kept versions have meta records');
  // a blob spanning several chunks, read back through chunk direct gets, still byte-exact after others were pruned
  assert.deepEqual(Buffer.from((await store.get(4)).bytes), blobs[4]);
});
