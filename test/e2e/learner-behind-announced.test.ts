// A learner that starts behind the run's announced weights (its checkpoint folder lost while the run's streams live
// on) stops at start with the reason: rollout workers never go back to an older version, so every trajectory would
// be refused as ahead of it and the run would stall.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { provisionRun, publishProto, runNames } from '../../src/platform/nats/index.ts';
import { RunHarness } from './harness.ts';

let h: RunHarness | undefined;
let nc: NatsConnection | undefined;

after(async () => {
  await nc?.close();
  await h?.destroy();
});

test('a learner behind the announced weights (no checkpoint, v5 announced) exits naming why instead of stalling the run', async () => {
  h = await RunHarness.create({ prefix: 'behind' });
  nc = await connect({ servers: h.nats.url });
  const jsm = await jetstreamManager(nc);
  await provisionRun(jsm, h.runId, { withTeacher: true });
  await publishProto(jetstream(nc), runNames(h.runId).stages.weights.subject, WeightsAnnouncement,
    WeightsAnnouncement.fromPartial({ runId: h.runId, version: 5, bucket: 'x', objectName: 'v5', sha256: 'ab' }), { msgId: 'weights-v5' });
  await assert.rejects(h.startActor('learner'), /already announced weights v5, but this learner starts at v0 \(no checkpoint in/);
  const learner = [...h.sup.processes].find((p) => p.label === 'learner')!;
  await new Promise<void>((resolve) => (learner.child.exitCode !== null ? resolve() : learner.child.once('exit', () => resolve())));
  assert.notEqual(learner.child.exitCode, 0, 'the process exits with a failure status');
});
