// The consume loop survives a NATS restart: a private server is stopped and started again on the same port
// and store; messages published after the restart are still processed by the same loop.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { connectNats, consumeProto, provisionRun, publishProto, runNames } from '../../src/platform/nats/index.ts';
import { destroyNatsServer, startNatsServer } from '../fixtures/nats-server.ts';
import type { PrivateNats } from '../fixtures/nats-server.ts';

let server: PrivateNats | undefined;
after(async () => {
  if (server) await destroyNatsServer(server);
});

async function waitFor(what: string, cond: () => boolean, limitMs = 30_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 25) {
    if (waited > limitMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a consume loop keeps processing across a server restart', async () => {
  server = await startNatsServer();
  const names = runNames('reconnect');
  const nc = await connectNats({ servers: server.url, reconnectDelayMs: 50, maxReconnectDelayMs: 500 });
  const js = jetstream(nc);
  await provisionRun(await jetstreamManager(nc), 'reconnect');
  const seen: string[] = [];
  const pullErrors: unknown[] = [];
  const loop = consumeProto(js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    expiresMs: 1000,
    onError: (e, where) => void (where === 'pull' && pullErrors.push(e)),
    handler: (t) => void seen.push(t.dispatchId),
  });
  await publishProto(js, names.stages.tasks.subject, RolloutTask, RolloutTask.fromPartial({ dispatchId: 'before' }), { msgId: 'before:tasks' });
  await waitFor('first message', () => seen.length === 1);

  const reconnected = (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') return;
  })();
  await server.stop();
  server = await startNatsServer([], server.port, server.storeDir);
  await reconnected;
  // JetStream may need a moment after restart; publish retries until the stream answers.
  for (let i = 0; ; i++) {
    try {
      await publishProto(js, names.stages.tasks.subject, RolloutTask, RolloutTask.fromPartial({ dispatchId: 'after' }), { msgId: 'after:tasks', timeoutMs: 2000 });
      break;
    } catch (err) {
      if (i > 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await waitFor('message after restart', () => seen.includes('after'));
  await loop.stop();
  await nc.close();
  assert.deepEqual(seen, ['before', 'after']);
  assert.equal(loop.counters.processed, 2);
});
