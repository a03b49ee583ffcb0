// Server-streaming through the wrappers with the real generated StudentRolloutService: messages arrive in
// order, a bad request is INVALID_ARGUMENT naming the field, and breaking out of the loop stops server work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RlmeshError } from '../../src/errors.ts';
import { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { PolicyInfo, StudentRolloutClient, StudentRolloutService } from '../../src/generated/rlmesh/v1/rollout.ts';
import type { GenerateRequest } from '../../src/generated/rlmesh/v1/rollout.ts';
import {
  createGrpcClient,
  createGrpcServer,
  requireInRange,
  requirePresent,
  serverStream,
  silentLog,
  streamCall,
  unary,
} from '../../src/platform/grpc/index.ts';
import type { GrpcServer } from '../../src/platform/grpc/index.ts';

const work = { produced: 0, stopped: 0 };
let server: GrpcServer;
let client: StudentRolloutClient;

before(async () => {
  server = createGrpcServer({ name: 'rollout-test', host: '127.0.0.1', port: 0, log: silentLog });
  server.addService(StudentRolloutService, {
    generate: serverStream(
      async function* (req, ctx) {
        try {
          for (let i = 0; i < req.numSamples && !ctx.signal.aborted; i++) {
            work.produced += 1;
            yield Trajectory.fromPartial({ trajectoryId: `${req.groupId}/${i}`, runId: req.runId });
            await sleep(5);
          }
        } finally {
          if (ctx.signal.aborted) work.stopped += 1;
        }
      },
      {
        validate: (req) => {
          requirePresent(req.task, 'task');
          requireInRange(req.numSamples, 'num_samples', { min: 1, max: 100_000, integer: true });
        },
      },
    ),
    getPolicy: unary(async () => PolicyInfo.fromPartial({ policyVersion: 7, modelId: 'tiny' })),
  });
  const port = await server.start();
  client = createGrpcClient(StudentRolloutClient, `127.0.0.1:${port}`);
});
after(async () => {
  client.close();
  await server.drain();
});

const request = (numSamples: number, withTask = true): GenerateRequest => ({
  runId: 'r1',
  groupId: 'g',
  numSamples,
  ...(withTask ? { task: { taskId: 't', category: 'add', difficulty: 1, split: 'train', prompt: '1+1', referenceSolution: '', answer: '2', params: {}, seed: 0, templateId: '' } } : {}),
});

test('a server stream yields every message in order', async () => {
  const ids: string[] = [];
  for await (const t of streamCall(client, 'generate', request(5))) ids.push(t.trajectoryId);
  assert.deepEqual(ids, ['g/0', 'g/1', 'g/2', 'g/3', 'g/4']);
});

test('stream validation errors are INVALID_ARGUMENT naming the field', async () => {
  for (const [req, field] of [[request(0), 'num_samples'], [request(3, false), 'task']] as const) {
    await assert.rejects(
      async () => {
        for await (const _ of streamCall(client, 'generate', req)) assert.fail('no message expected');
      },
      (e: unknown) => e instanceof RlmeshError && e.field === field && e.details?.grpcCode === GrpcCode.INVALID_ARGUMENT,
    );
  }
});

test('breaking out of the loop cancels the server generator', async () => {
  const stoppedBefore = work.stopped;
  let got = 0;
  for await (const _ of streamCall(client, 'generate', request(100_000))) {
    if (++got === 3) break;
  }
  for (let i = 0; i < 200 && work.stopped === stoppedBefore; i++) await sleep(10);
  assert.equal(work.stopped, stoppedBefore + 1, 'server saw the cancel');
  const producedAtStop = work.produced;
  await sleep(100);
  assert.equal(work.produced, producedAtStop);
  assert.ok(producedAtStop < 100_000);
});
