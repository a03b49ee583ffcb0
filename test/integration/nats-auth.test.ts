// Connection auth against private nats-servers (user/password, token): right credentials connect, wrong ones
// are refused with a transport error that never contains the secret; RLMESH_NATS_* env parsing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { RlmeshError } from '../../src/errors.ts';
import { connectNats, describeNatsOptions, natsOptionsFromEnv } from '../../src/platform/nats/index.ts';
import { destroyNatsServer, startNatsServer } from '../fixtures/nats-server.ts';
import type { PrivateNats } from '../fixtures/nats-server.ts';

let userServer: PrivateNats;
let tokenServer: PrivateNats;
const PASSWORD = 's3cret-pass-91';
const TOKEN = 'tok-7f3a9c';

before(async () => {
  userServer = await startNatsServer(['--user', 'rlmesh', '--pass', PASSWORD]);
  tokenServer = await startNatsServer(['--auth', TOKEN]);
});

after(async () => {
  await destroyNatsServer(userServer);
  await destroyNatsServer(tokenServer);
});

function refused(secret: string) {
  return (e: unknown) => {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    assert.equal(e.category, 'transport');
    assert.equal(e.field, 'credentials');
    assert.match(e.message, /authorization violation/);
    assert.ok(!e.message.includes(secret), 'error message leaks the secret');
    return true;
  };
}

test('user/password: env credentials connect and round-trip a request; wrong or missing ones are refused', async () => {
  const opts = natsOptionsFromEnv({ RLMESH_NATS_URL: userServer.url, RLMESH_NATS_USER: 'rlmesh', RLMESH_NATS_PASSWORD: PASSWORD }, 'auth-test');
  assert.equal(describeNatsOptions(opts), `nats ${userServer.url} auth=user/password name=auth-test`);
  const nc = await connectNats(opts);
  const sub = nc.subscribe('echo');
  void (async () => { for await (const m of sub) m.respond(m.data); })();
  const reply = await nc.request('echo', new TextEncoder().encode('hi'), { timeout: 2000 });
  assert.equal(new TextDecoder().decode(reply.data), 'hi');
  await nc.close();
  await assert.rejects(connectNats({ servers: userServer.url, user: 'rlmesh', password: 'wrong-pass' }), refused('wrong-pass'));
  await assert.rejects(connectNats({ servers: userServer.url }), refused(PASSWORD));
});

test('token: the right token connects, a wrong one is refused', async () => {
  const nc = await connectNats(natsOptionsFromEnv({ RLMESH_NATS_URL: tokenServer.url, RLMESH_NATS_TOKEN: TOKEN }));
  await nc.flush();
  assert.equal(nc.isClosed(), false);
  await nc.close();
  await assert.rejects(connectNats({ servers: tokenServer.url, token: 'not-the-token' }), refused('not-the-token'));
});

test('unreachable server is a transport error naming servers', async () => {
  await assert.rejects(connectNats({ servers: 'nats://127.0.0.1:1', timeoutMs: 1000 }), (e: unknown) => {
    assert.ok(e instanceof RlmeshError && e.category === 'transport' && e.field === 'servers');
    assert.match(e.message, /127\.0\.0\.1:1/);
    return true;
  });
});

test('natsOptionsFromEnv defaults, lists and refuses half-set credentials', () => {
  assert.deepEqual(natsOptionsFromEnv({}).servers, ['nats://127.0.0.1:4222']);
  assert.deepEqual(natsOptionsFromEnv({ RLMESH_NATS_URL: 'nats://a:4222, nats://b:4222' }).servers, ['nats://a:4222', 'nats://b:4222']);
  const tls = natsOptionsFromEnv({ RLMESH_NATS_TLS_CA: '/ca.pem', RLMESH_NATS_TLS_CERT: '/c.pem', RLMESH_NATS_TLS_KEY: '/k.pem' });
  assert.deepEqual(tls.tls, { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  const field = (env: Record<string, string>) => {
    try {
      natsOptionsFromEnv(env);
    } catch (e) {
      assert.ok(e instanceof RlmeshError);
      return e.field;
    }
    return 'no error';
  };
  assert.equal(field({ RLMESH_NATS_USER: 'u' }), 'RLMESH_NATS_PASSWORD');
  assert.equal(field({ RLMESH_NATS_PASSWORD: 'p' }), 'RLMESH_NATS_USER');
  assert.equal(field({ RLMESH_NATS_TLS_CERT: '/c.pem' }), 'RLMESH_NATS_TLS_KEY');
  assert.equal(field({ RLMESH_NATS_URL: 'http://x y' }), 'RLMESH_NATS_URL');
  assert.equal(field({ RLMESH_NATS_NKEY_SEED_FILE: '/no/such/seed' }), 'no error');
  assert.equal(describeNatsOptions({ servers: 'nats://u:pw@h:4222', token: 't' }), 'nats nats://***@h:4222 auth=token');
});

test('nkey: the seed file of an allowed user connects, another user\'s seed is refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-nkey-'));
  const allowed = createUser();
  const stranger = createUser();
  const conf = path.join(dir, 'server.conf');
  writeFileSync(conf, `authorization { users = [ { nkey: ${allowed.getPublicKey()} } ] }\n`);
  const seedFile = path.join(dir, 'user.nk');
  const strangerFile = path.join(dir, 'stranger.nk');
  writeFileSync(seedFile, new TextDecoder().decode(allowed.getSeed()) + '\n', { mode: 0o600 });
  writeFileSync(strangerFile, new TextDecoder().decode(stranger.getSeed()), { mode: 0o600 });
  const server = await startNatsServer(['-c', conf]);
  try {
    const nc = await connectNats(natsOptionsFromEnv({ RLMESH_NATS_URL: server.url, RLMESH_NATS_NKEY_SEED_FILE: seedFile }));
    await nc.flush();
    await nc.close();
    await assert.rejects(connectNats({ servers: server.url, nkeySeedFile: strangerFile }), refused(new TextDecoder().decode(stranger.getSeed())));
  } finally {
    await destroyNatsServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing nkey seed file is a config error naming the option', async () => {
  await assert.rejects(connectNats({ servers: 'nats://127.0.0.1:4222', nkeySeedFile: '/no/such/seed' }), (e: unknown) =>
    e instanceof RlmeshError && e.category === 'config' && e.field === 'nkeySeedFile');
});
