// The shipped nats.conf (k8s ConfigMap + docker-compose) on a real nats-server: auth from the environment,
// JetStream on, the probe path answers, and /jsz reports the consumer lag the KEDA ScaledObjects scale on.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { REPO, WORKER_INPUT, find, renderKustomize, runIdOf, streamName } from '../unit/infra/manifests.ts';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const USER = 'rlmesh-test';
const PASSWORD = 'not-the-placeholder';
const objects = renderKustomize('infra/k8s/base');
const runId = runIdOf(objects);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

let server: ChildProcess;
let clientPort = 0;
let monitorPort = 0;
let storeDir = '';
let log = '';

before(async () => {
  clientPort = await freePort();
  monitorPort = await freePort();
  storeDir = mkdtempSync(path.join(tmpdir(), 'rlmesh-infra-nats-'));
  // The shipped file with only the store_dir moved to a temp folder (nats-server refuses -sd beside store_dir);
  // client/monitor ports are overridden on the command line.
  const shipped = readFileSync(path.join(REPO, 'infra/k8s/base/config/nats.conf'), 'utf8');
  const storeLine = /^(\s*store_dir:\s*)\S+$/m;
  assert.match(shipped, storeLine);
  const conf = path.join(storeDir, 'nats.conf');
  writeFileSync(conf, shipped.replace(storeLine, `$1${JSON.stringify(path.join(storeDir, 'js'))}`));
  server = spawn(NATS_SERVER, ['-c', conf, '-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort)], {
    env: { ...process.env, RLMESH_NATS_USER: USER, RLMESH_NATS_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  server.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  let gone = false;
  const exited = new Promise<never>((_, reject) => server.once('exit', (code) => {
    gone = true;
    reject(new Error(`nats-server exited ${code}:\n${log}`));
  }));
  const ready = (async () => {
    while (!gone) {
      try {
        const r = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`);
        if (r.ok) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, exited]);
});

after(async () => {
  // Wait for the server to exit before removing its store: it still writes while shutting down.
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
  if (storeDir) rmSync(storeDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
});

async function client(): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${clientPort}`, user: USER, pass: PASSWORD });
}

test('the server takes its user from RLMESH_NATS_USER/RLMESH_NATS_PASSWORD and refuses anyone else', async () => {
  await assert.rejects(connect({ servers: `127.0.0.1:${clientPort}`, user: USER, pass: 'wrong', reconnect: false }), /auth/i);
  await assert.rejects(connect({ servers: `127.0.0.1:${clientPort}`, reconnect: false }), /auth/i);
  const nc = await client();
  assert.equal(nc.info?.max_payload, 8 * 1024 * 1024, 'max_payload from nats.conf');
  assert.equal(nc.info?.jetstream, true);
  await nc.close();
});

test('/jsz reports the lag of each ScaledObject\'s stream/consumer, as KEDA\'s nats-jetstream scaler reads it', async () => {
  const nc = await client();
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const [actor, input] of Object.entries(WORKER_INPUT)) {
    const trigger = (find(objects, 'ScaledObject', actor)!.spec as { triggers: Array<{ metadata: Record<string, string> }> })
      .triggers[0]!.metadata;
    assert.equal(trigger.stream, streamName(runId, input.stage));
    const subject = `rlmesh.${runId}.${input.stage}`;
    await jsm.streams.add({ name: trigger.stream!, subjects: [subject] });
    await jsm.consumers.add(trigger.stream!, { durable_name: trigger.consumer!, ack_policy: AckPolicy.Explicit });
    const published = 7;
    for (let i = 0; i < published; i++) await js.publish(subject, new TextEncoder().encode(`${actor}-${i}`));
    const consumer = await js.consumers.get(trigger.stream!, trigger.consumer!);
    const batch = await consumer.fetch({ max_messages: 3, expires: 2000 });
    let taken = 0;
    for await (const m of batch) { await m.ackAck(); taken++; }
    assert.equal(taken, 3);

    const url = `http://127.0.0.1:${monitorPort}/jsz?acc=${encodeURIComponent(trigger.account!)}&consumers=true&config=true`;
    const jsz = await (await fetch(url)).json() as { account_details?: Array<{ name: string; stream_detail?: Array<{
      name: string; consumer_detail?: Array<{ name: string; num_pending: number; num_ack_pending: number }> }> }> };
    const account = jsz.account_details?.find((a) => a.name === trigger.account);
    assert.ok(account, `account ${trigger.account} in /jsz: ${JSON.stringify(jsz).slice(0, 300)}`);
    const detail = account.stream_detail?.find((s) => s.name === trigger.stream)?.consumer_detail?.find((c) => c.name === trigger.consumer);
    assert.ok(detail, `${trigger.stream}/${trigger.consumer} in /jsz`);
    assert.equal(detail.num_pending, published - taken, `${actor}: lag KEDA scales on`);
    assert.equal(detail.num_ack_pending, 0);
  }
  await nc.close();
});
