// SIGTERM drain of a gRPC server in a child process: health watchers see NOT_SERVING, the in-flight call
// completes, the process exits 0, and new calls are refused afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RlmeshError } from '../../src/errors.ts';
import { VerifierRewardClient } from '../../src/generated/rlmesh/v1/verifier.ts';
import type { VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import { callUnary, createGrpcClient } from '../../src/platform/grpc/index.ts';
import { healthClient } from './grpc-test-clients.ts';

const fixture = new URL('./grpc-fixture-server.ts', import.meta.url).pathname;
const req = (completion: string): VerifyRequest => ({ items: [{ taskId: 't', completion, completionTokens: 0 }], weights: {} });

test('SIGTERM drains a child-process server gracefully', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, PORT: '0', DRAIN_GRACE_MS: '10000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout });
  const waitLine = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const onLine = (l: string): void => {
        const m = re.exec(l);
        if (m) {
          lines.off('line', onLine);
          resolve(m);
        }
      };
      lines.on('line', onLine);
      exited.then(({ code }) => reject(new Error(`fixture exited (${code}) before ${re}: ${stderr}`)));
    });

  const port = Number((await waitLine(/^LISTENING (\d+)$/))[1]);
  const address = `127.0.0.1:${port}`;
  const client = createGrpcClient(VerifierRewardClient, address, { retries: 0, deadlineMs: 10_000 });
  const health = healthClient(address);
  try {
    const statuses: string[] = [];
    const watch = health.watch({ service: 'rlmesh.v1.VerifierReward' });
    watch.on('data', (m: { status: string }) => statuses.push(m.status));
    const watchDone = new Promise<void>((resolve) => {
      watch.on('end', () => resolve());
      watch.on('error', () => resolve());
    });

    const holdStarted = waitLine(/^HOLD-STARTED$/);
    const inFlight = callUnary(client, 'verify', req('hold:1500'));
    await holdStarted;
    child.kill('SIGTERM');

    const res = await inFlight;
    assert.equal(res.rewards[0]!.parsedAnswer, 'hold:1500', 'the in-flight call completed');
    assert.deepEqual(await exited, { code: 0, signal: null });
    await watchDone;
    assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
    assert.match(stderr, /"msg":"signal received; draining".*"signal":"SIGTERM"/);
    assert.doesNotMatch(stderr, /forcing shutdown/);

    await assert.rejects(
      callUnary(client, 'verify', req('after')),
      (e: unknown) => e instanceof RlmeshError && e.details?.grpcCode === GrpcCode.UNAVAILABLE,
    );
  } finally {
    client.close();
    health.close();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
