// TLS and mutual TLS round trips with certificates made by openssl in a temp dir (a test CA signing a
// server cert for 127.0.0.1/localhost and a client cert); plaintext and cert-less clients are refused; an actor
// process started by `rlmesh serve` takes its TLS from RLMESH_GRPC_TLS_*.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RlmeshError } from '../../src/errors.ts';
import { listTasks } from '../../src/tasks/index.ts';
import { VerifierRewardClient } from '../../src/generated/rlmesh/v1/verifier.ts';
import type { VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import {
  callUnary,
  clientTlsFromEnv,
  createGrpcClient,
  createGrpcServer,
  serverTlsFromEnv,
  silentLog,
} from '../../src/platform/grpc/index.ts';
import type { GrpcServer, ServerTlsOptions } from '../../src/platform/grpc/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';
import { addVerifierTestService } from './grpc-fixture-service.ts';
import { serveVerifier } from './verifier-serve.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-tls-'));
const f = (name: string): string => path.join(dir, name);
const req: VerifyRequest = { items: [{ taskId: 't', completion: 'tls', completionTokens: 0 }], weights: {} };

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCerts(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rlmesh-test-ca');
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'server.ext');
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=rlmesh-client');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
}

async function start(tls: ServerTlsOptions): Promise<{ server: GrpcServer; address: string }> {
  const server = createGrpcServer({ name: 'tls-test', host: '127.0.0.1', port: 0, tls, log: silentLog, drainGraceMs: 1000 });
  addVerifierTestService(server, { ticks: 0, abortedCalls: 0 });
  return { server, address: `127.0.0.1:${await server.start()}` };
}

async function failsWith(p: Promise<unknown>, code: GrpcCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RlmeshError && e.details?.grpcCode === code);
}

before(makeCerts);
after(() => rmSync(dir, { recursive: true, force: true }));

test('TLS: a client trusting the CA round-trips; a plaintext client is refused', async () => {
  const { server, address } = await start({ cert: { file: f('server.crt') }, key: { file: f('server.key') } });
  const secure = createGrpcClient(VerifierRewardClient, address, { tls: { ca: { file: f('ca.crt') } } });
  const plain = createGrpcClient(VerifierRewardClient, address, { retries: 0, deadlineMs: 3000 });
  try {
    assert.equal((await callUnary(secure, 'verify', req)).rewards[0]!.parsedAnswer, 'tls');
    await failsWith(callUnary(plain, 'verify', req), GrpcCode.UNAVAILABLE);
  } finally {
    secure.close();
    plain.close();
    await server.drain();
  }
});

test('mTLS from RLMESH_GRPC_TLS_* env: a client with a CA-signed cert passes, one without is refused', async () => {
  const env = { RLMESH_GRPC_TLS_CERT: f('server.crt'), RLMESH_GRPC_TLS_KEY: f('server.key'), RLMESH_GRPC_TLS_CA: f('ca.crt') };
  const serverTls = serverTlsFromEnv(env);
  assert.ok(serverTls?.clientCa, 'CA in the env turns on client verification');
  const { server, address } = await start(serverTls);
  const clientTls = clientTlsFromEnv({ RLMESH_GRPC_TLS_CA: f('ca.crt'), RLMESH_GRPC_TLS_CERT: f('client.crt'), RLMESH_GRPC_TLS_KEY: f('client.key') });
  const withCert = createGrpcClient(VerifierRewardClient, address, { tls: clientTls });
  const withoutCert = createGrpcClient(VerifierRewardClient, address, { tls: { ca: { file: f('ca.crt') } }, retries: 0, deadlineMs: 3000 });
  try {
    assert.equal((await callUnary(withCert, 'verify', req)).rewards[0]!.parsedAnswer, 'tls');
    await failsWith(callUnary(withoutCert, 'verify', req), GrpcCode.UNAVAILABLE);
  } finally {
    withCert.close();
    withoutCert.close();
    await server.drain();
  }
});

test('TLS config errors name the setting', async () => {
  assert.throws(() => serverTlsFromEnv({ RLMESH_GRPC_TLS_CERT: f('server.crt') }), (e: unknown) => e instanceof RlmeshError && e.field === 'RLMESH_GRPC_TLS_KEY');
  assert.equal(serverTlsFromEnv({}), undefined);
  await assert.rejects(
    createGrpcServer({ name: 'x', port: 0, log: silentLog, tls: { cert: { file: f('missing.crt') }, key: { file: f('server.key') } } }).start(),
    (e: unknown) => e instanceof RlmeshError && e.field === 'tls.cert',
  );
});

test('rlmesh serve verifier serves TLS from RLMESH_GRPC_TLS_CERT/_KEY; a half-set pair fails its start naming the missing variable', async () => {
  const env = { RLMESH_GRPC_TLS_CERT: f('server.crt'), RLMESH_GRPC_TLS_KEY: f('server.key'), RLMESH_SPAN_FILE: f('spans.jsonl') };
  const served = await serveVerifier(['--nats', SHARED_NATS_URL, '--run', uniqueRunId('vtls')], env);
  const address = `127.0.0.1:${served.grpcPort}`;
  const secure = createGrpcClient(VerifierRewardClient, address, { tls: { ca: { file: f('ca.crt') } }, deadlineMs: 20_000 });
  const plain = createGrpcClient(VerifierRewardClient, address, { retries: 0, deadlineMs: 3000 });
  try {
    const [task] = listTasks({ suite: 'add:2', limit: 1, seed: 3 });
    const graded = { items: [{ taskId: task!.taskId, completion: task!.referenceSolution, completionTokens: 0 }], weights: {} };
    const res = await callUnary(secure, 'verify', graded);
    assert.deepEqual([res.rewards[0]!.correct, res.rewards[0]!.parsedAnswer], [true, task!.answer]);
    await failsWith(callUnary(plain, 'verify', req), GrpcCode.UNAVAILABLE);
  } finally {
    secure.close();
    plain.close();
    assert.equal(await served.stop(), 0, served.stderr().slice(-1000));
  }
  await assert.rejects(
    serveVerifier(['--nats', SHARED_NATS_URL, '--run', uniqueRunId('vtls')], { RLMESH_GRPC_TLS_CERT: f('server.crt'), RLMESH_SPAN_FILE: f('spans.jsonl') }),
    /RLMESH_GRPC_TLS_KEY: TLS needs both a certificate and a key/,
  );
});

test('the gateway probes its spawned workers as they serve: TLS from the shared _CERT/_KEY, mTLS with _CA; an unreadable PEM is reported, not thrown', async () => {
  const { probeTlsFromEnv, WorkerProbe } = await import('../../services/gateway/worker-probe.ts');
  assert.equal(probeTlsFromEnv({}), undefined);
  assert.equal(probeTlsFromEnv({ RLMESH_GRPC_TLS_CA: f('ca.crt') }), undefined, 'the workers serve plaintext without a certificate');
  assert.deepEqual(probeTlsFromEnv({ RLMESH_GRPC_TLS_CERT: f('server.crt'), RLMESH_GRPC_TLS_KEY: f('server.key') }), {});
  assert.deepEqual(probeTlsFromEnv({ RLMESH_GRPC_TLS_CERT: f('server.crt'), RLMESH_GRPC_TLS_KEY: f('server.key'), RLMESH_GRPC_TLS_CA: f('ca.crt') }),
    { ca: { file: f('ca.crt') }, cert: { file: f('server.crt') }, key: { file: f('server.key') } });
  const slot = { label: 'verifier', actor: 'verifier', state: 'ready', grpcPort: 1, exitCode: null, proc: { child: { pid: 1 } } };
  const probe = new WorkerProbe([slot as never], 1000, { ca: { file: f('missing-ca.crt') } });
  await probe.probeAll();
  assert.match(probe.views()[0]!.health, /^tls: tls\.ca: cannot read PEM file .*missing-ca\.crt/);
});
