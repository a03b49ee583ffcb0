// NATS security on real private nats-servers: per-actor users with subject permissions (the rollout user may
// publish trajectories but not weights, nor delete streams), a wrong password refused without leaking it, and a
// TLS listener with a self-signed CA that a client trusting the CA joins while one without it is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import { RlmeshError } from '../../src/errors.ts';
import { connectNats, natsOptionsFromEnv, provisionRun, runNames } from '../../src/platform/nats/index.ts';
import { destroyNatsServer, startNatsServer, uniqueRunId, type PrivateNats } from '../fixtures/nats-server.ts';

const ADMIN_PASSWORD = 'adm-Pw-4417-secret';
const ROLLOUT_PASSWORD = 'rol-Pw-9023-secret';
const WRONG_PASSWORD = 'wrong-Pw-5561-guess';
const SECRETS = [ADMIN_PASSWORD, ROLLOUT_PASSWORD, WRONG_PASSWORD];

let dir: string;
let server: PrivateNats;
let serverLog: string;
const enc = new TextEncoder();
/** Refusal texts seen by the clients, printed after the tests (`fault security {...}`). */
const refusals: Record<string, string> = {};

/** The rollout actor's rights: its own output stream, metrics and dead letters, and the JetStream API calls a
 * consumer and an object-store reader make; never the weights subject, never stream management. */
const ROLLOUT_PERMISSIONS = `{
      publish: {
        allow: ["rlmesh.*.rollouts", "rlmesh.*.metrics", "rlmesh.*.dead", "$JS.API.INFO", "$JS.API.STREAM.INFO.>",
                "$JS.API.CONSUMER.INFO.>", "$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.MSG.NEXT.>", "$JS.API.DIRECT.GET.>", "$JS.ACK.>"]
        deny: ["rlmesh.*.weights"]
      }
      subscribe: { allow: ["_INBOX.>"] }
    }`;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-natsperm-'));
  serverLog = path.join(dir, 'nats-server.log');
  const conf = path.join(dir, 'server.conf');
  writeFileSync(conf, `authorization {
  users = [
    { user: admin, password: "${ADMIN_PASSWORD}" }
    { user: rollout, password: "${ROLLOUT_PASSWORD}", permissions: ${ROLLOUT_PERMISSIONS} }
  ]
}
`);
  server = await startNatsServer(['-c', conf, '-l', serverLog]);
});

after(async () => {
  process.stdout.write(`fault security ${JSON.stringify(refusals)}\n`);
  await destroyNatsServer(server);
  rmSync(dir, { recursive: true, force: true });
});

const asUser = (user: string, password: string) =>
  connectNats(natsOptionsFromEnv({ RLMESH_NATS_URL: server.url, RLMESH_NATS_USER: user, RLMESH_NATS_PASSWORD: password }, `perm-${user}`));

/** The first permission violation the client reports on its status stream (rejects when none comes in 5 s). */
function nextViolation(nc: NatsConnection): Promise<InstanceType<typeof errors.PermissionViolationError>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no permission violation reported within 5 s')), 5000);
  });
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) return s.error;
    }
    throw new Error('connection closed before a permission violation was reported');
  })();
  return Promise.race([seen, timeout]).finally(() => clearTimeout(timer));
}

test('rollout user: publishes trajectories; a publish to the weights subject and a stream delete are refused', async () => {
  const runId = uniqueRunId('perm');
  const names = runNames(runId);
  const admin = await asUser('admin', ADMIN_PASSWORD);
  const jsm = await jetstreamManager(admin);
  await provisionRun(jsm, runId);
  const rollout = await asUser('rollout', ROLLOUT_PASSWORD);
  try {
    // Allowed: a JetStream publish to its own stream is stored and acknowledged.
    const ack = await jetstream(rollout).publish(names.stages.rollouts.subject, enc.encode('trajectory'), { msgID: 'traj-1:rollouts' });
    assert.equal(ack.stream, names.stages.rollouts.stream);
    assert.equal(ack.duplicate, false);

    // Refused: the weights subject. The server answers -ERR and the client reports it on its status stream.
    const violation = nextViolation(rollout);
    rollout.publish(names.stages.weights.subject, enc.encode('forged weights announcement'));
    await rollout.flush();
    const err = await violation;
    refusals.weightsPublish = err.message;
    assert.equal(err.operation, 'publish');
    assert.equal(err.subject, names.stages.weights.subject);
    assert.match(err.message, /permissions violation/i);
    for (const s of SECRETS) assert.ok(!err.message.includes(s), 'the refusal does not contain a password');
    assert.equal(rollout.isClosed(), false, 'a refused publish does not drop the connection');

    // Refused: stream management through the JetStream API (the request gets no answer; the stream survives).
    const denied = nextViolation(rollout);
    await assert.rejects(rollout.request(`$JS.API.STREAM.DELETE.${names.stages.weights.stream}`, undefined, { timeout: 1500 }));
    assert.equal((await denied).subject, `$JS.API.STREAM.DELETE.${names.stages.weights.stream}`);

    // Broker-side effect: the trajectory is stored, nothing reached the weights stream, every stream still exists.
    assert.equal((await jsm.streams.info(names.stages.rollouts.stream)).state.messages, 1);
    assert.equal((await jsm.streams.info(names.stages.weights.stream)).state.messages, 0);

    // Still usable after the refusals.
    const ack2 = await jetstream(rollout).publish(names.stages.rollouts.subject, enc.encode('trajectory 2'), { msgID: 'traj-2:rollouts' });
    assert.equal(ack2.seq, 2);
  } finally {
    await rollout.close();
    await admin.close();
  }
  const log = readFileSync(serverLog, 'utf8');
  assert.match(log, /Publish Violation/i, 'the server logs the refused publish');
  for (const s of SECRETS) assert.ok(!log.includes(s), 'the server log contains no password');
});

test('a wrong password is refused with a transport error naming neither password', async () => {
  await assert.rejects(asUser('rollout', WRONG_PASSWORD), (e: unknown) => {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    refusals.wrongPassword = e.message;
    assert.equal(e.category, 'transport');
    assert.equal(e.field, 'credentials');
    assert.match(e.message, /authorization violation/);
    for (const s of SECRETS) assert.ok(!e.message.includes(s) && !String(e.stack).includes(s), 'the error contains no password');
    return true;
  });
  // Reading the log right after the refusal: the server wrote its line before closing the connection.
  const log = readFileSync(serverLog, 'utf8');
  assert.match(log, /authentication error - User "rollout"/i, 'the server logs the refused login by user name');
  for (const s of SECRETS) assert.ok(!log.includes(s), 'the server log contains no password');
});

test('missing credentials are refused as well, and the refusal names no secret', async () => {
  await assert.rejects(connectNats(natsOptionsFromEnv({ RLMESH_NATS_URL: server.url }, 'perm-anonymous')), (e: unknown) => {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    refusals.missingCredentials = e.message;
    assert.equal(e.category, 'transport');
    assert.match(e.message, /authorization violation/);
    assert.match(e.message, /auth=none/, 'the error says no credentials were given');
    for (const s of SECRETS) assert.ok(!e.message.includes(s), 'the error contains no password');
    return true;
  });
  const log = readFileSync(serverLog, 'utf8');
  for (const s of SECRETS) assert.ok(!log.includes(s), 'the server log contains no password');
});

test('TLS: a client trusting the self-signed CA (RLMESH_NATS_TLS_CA) connects; one without the CA is refused', async () => {
  const tdir = mkdtempSync(path.join(tmpdir(), 'rlmesh-natstls-'));
  const f = (n: string) => path.join(tdir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tdir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=rlmesh-test-ca');
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '1', '-extfile', f('ext.cnf'));
  writeFileSync(f('server.conf'), `tls {\n  cert_file: "${f('server.pem')}"\n  key_file: "${f('server.key')}"\n}\n`);
  const tlsServer = await startNatsServer(['-c', f('server.conf')]);
  try {
    const url = `tls://127.0.0.1:${tlsServer.port}`;
    const opts = natsOptionsFromEnv({ RLMESH_NATS_URL: url, RLMESH_NATS_TLS_CA: f('ca.pem') }, 'tls-test');
    assert.deepEqual(opts.tls, { caFile: f('ca.pem') });
    const nc = await connectNats(opts);
    try {
      assert.equal(nc.info?.tls_required, true, 'the server requires TLS');
      const sub = nc.subscribe('echo');
      void (async () => { for await (const m of sub) m.respond(m.data); })();
      const reply = await nc.request('echo', enc.encode('over tls'), { timeout: 2000 });
      assert.equal(new TextDecoder().decode(reply.data), 'over tls');
    } finally {
      await nc.close();
    }
    // No CA: the server certificate is not trusted, so the handshake fails.
    await assert.rejects(connectNats(natsOptionsFromEnv({ RLMESH_NATS_URL: url })), (e: unknown) => {
      assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
      refusals.tlsWithoutCa = e.message;
      assert.equal(e.category, 'transport');
      assert.equal(e.field, 'servers');
      assert.match(e.message, /certificate|self.signed|TLS/i);
      return true;
    });
    // A nats:// URL gets no plaintext session either: the server requires TLS, the client upgrades, the
    // untrusted certificate refuses it.
    await assert.rejects(connectNats({ servers: `nats://127.0.0.1:${tlsServer.port}`, timeoutMs: 3000 }), (e: unknown) => {
      assert.ok(e instanceof RlmeshError);
      refusals.plainToTls = e.message;
      assert.match(e.message, /certificate/i);
      return true;
    });
  } finally {
    await destroyNatsServer(tlsServer);
    rmSync(tdir, { recursive: true, force: true });
  }
});
