// One trace across processes: the test publishes a task inside `gateway.dispatch`; a child process
// consumes it and publishes a TrajectoryBatch. Spans read back from both span files share one trace id, and
// the child's `process` span is a child of this process's `publish` span.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { connectNats, deleteRun, provisionRun, publishProto, runNames } from '../../src/platform/nats/index.ts';
import { initTelemetry, readSpanFile, withSpan } from '../../src/platform/telemetry/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runChild(env: Record<string, string>): Promise<{ code: number | null; pid: number; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/trace-consumer.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, pid: child.pid!, stderr })));
}

test('a message published here and consumed in a child process is one trace, consumer parented on producer', async () => {
  const runId = uniqueRunId('trace');
  const names = runNames(runId);
  const producerFile = path.join(dir, 'producer.jsonl');
  const consumerFile = path.join(dir, 'consumer.jsonl');
  const telemetry = initTelemetry({ serviceName: 'trace-producer', runId, spanFile: producerFile });
  const nc = await connectNats({ servers: SHARED_NATS_URL });
  const jsm = await jetstreamManager(nc);
  try {
    await provisionRun(jsm, runId);
    await withSpan('gateway.dispatch', { attributes: { 'rlmesh.run_id': runId } }, () =>
      publishProto(jetstream(nc), names.stages.tasks.subject, RolloutTask, RolloutTask.fromPartial({ runId, dispatchId: 'd1', groupSize: 1 }), {
        msgId: 'd1:tasks',
      }),
    );
    const child = await runChild({ RLMESH_NATS_URL: SHARED_NATS_URL, RLMESH_RUN_ID: runId, RLMESH_SPAN_FILE: consumerFile });
    assert.equal(child.code, 0, `child failed: ${child.stderr}`);
    await telemetry.shutdown();

    const spans = [...readSpanFile(producerFile), ...readSpanFile(consumerFile)];
    const byName = (n: string) => {
      const s = spans.filter((x) => x.name === n);
      assert.equal(s.length, 1, `one ${n} span, got ${s.length}`);
      return s[0]!;
    };
    const dispatch = byName('gateway.dispatch');
    const publish = byName(`publish ${names.stages.tasks.subject}`);
    const process_ = byName(`process ${names.stages.tasks.subject}`);
    const generate = byName('rollout.generate');
    const publishTraj = byName(`publish ${names.stages.rollouts.subject}`);

    assert.deepEqual(new Set(spans.map((s) => s.traceId)).size, 1, 'all spans share one trace id');
    assert.equal(dispatch.parentSpanId, null);
    assert.equal(publish.parentSpanId, dispatch.spanId);
    assert.equal(process_.parentSpanId, publish.spanId, 'consumer span parent = producer span');
    assert.equal(generate.parentSpanId, process_.spanId);
    assert.equal(publishTraj.parentSpanId, generate.spanId);

    assert.equal(publish.kind, 'PRODUCER');
    assert.equal(process_.kind, 'CONSUMER');
    assert.equal(publish.serviceName, 'trace-producer');
    assert.equal(publish.pid, process.pid);
    assert.equal(process_.serviceName, 'trace-consumer');
    assert.equal(process_.pid, child.pid);
    assert.notEqual(process_.pid, publish.pid);
    assert.equal(process_.attributes['messaging.system'], 'nats');
    assert.equal(process_.attributes['messaging.destination.name'], names.stages.tasks.subject);
    assert.equal(process_.attributes['messaging.message.id'], 'd1:tasks');
    assert.equal(generate.attributes['rlmesh.task_id'], 'd1');
    assert.ok(process_.startUnixMs >= publish.startUnixMs && process_.endUnixMs >= process_.startUnixMs);
  } finally {
    await deleteRun(jsm, runId);
    await nc.close();
  }
});
