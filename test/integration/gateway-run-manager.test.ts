// The gateway's runs through its HTTP app in-process (RunManager + createApp, real NATS, no actors spawned): a stop
// while a run is provisioning, resuming an ended run's id, provisioning refusals as 400s naming the field, HEAD on the
// SSE route, a deeply nested body, the OpenAPI document's run id, and the trace list under OTLP export.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { MetricsEvent } from '../../src/generated/rlmesh/v1/common.ts';
import { publishProto, runNames } from '../../src/platform/nats/index.ts';
import { createApp } from '../../services/gateway/app.ts';
import { RunManager } from '../../services/gateway/run-manager.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';
import { smallRunConfig } from './gateway-process.ts';

const nats = useSharedNats('rlmesh-test-run-manager');
const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-runmgr-'));
let runs: RunManager | undefined;
after(async () => {
  await runs?.close();
  rmSync(root, { recursive: true, force: true });
});

function gateway(otlpEndpoint?: string) {
  runs ??= new RunManager({ nc: nats.nc, js: nats.js, jsm: nats.jsm, runsRoot: root, log: () => undefined });
  const app = createApp({ runs, registry: new Registry(), apiToken: 'tok', otlpEndpoint });
  const request = (method: string, p: string, body?: string) =>
    app.request(p, { method, body, headers: { authorization: 'Bearer tok', 'content-type': 'application/json' } });
  return { runs, request };
}

interface ErrorJson { error: { category: string; message: string; field?: string } }

test('a stop while the run provisions answers 200 stopped, and the run stays stopped', async () => {
  const { runs, request } = gateway();
  const runId = nats.newRunId('stopstart');
  const created = runs.create(smallRunConfig(runId)); // registered as starting; provisioning in progress
  assert.equal(runs.view(runId).state, 'starting');
  const stop = await request('POST', `/runs/${runId}/stop`);
  assert.equal(stop.status, 200, await stop.clone().text());
  assert.equal(((await stop.json()) as { state: string }).state, 'stopped');
  await created;
  assert.equal(runs.view(runId).state, 'stopped', 'start() does not bring a stopped run back');
  assert.equal(runs.view(runId).accounting.dispatched, 0);
});

test('starting an ended run again resumes it with one controller: the earlier one stops consuming', async () => {
  const { runs, request } = gateway();
  const runId = nats.newRunId('resume');
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))).status, 201);
  assert.equal((await request('POST', `/runs/${runId}/stop`)).status, 200);
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))).status, 201);
  const { controller } = runs.get(runId);
  let seen = 0;
  controller.on('metrics', () => { seen++; });
  const subject = runNames(runId).stages.metrics.subject;
  for (let step = 1; step <= 12; step++) {
    await publishProto(nats.js, subject, MetricsEvent, MetricsEvent.fromPartial({ runId, source: 'learner', step, values: { policy_version: step } }));
  }
  for (let waited = 0; seen < 12 && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen, 12, 'every metrics event reaches the resumed run (an earlier controller took some)');
  assert.equal(controller.status().step, 12);
});

test('provisioning refusals are 400s naming the field: replicas on a single server, a run id that collides', async () => {
  const { runs, request } = gateway();
  const replicated = nats.newRunId('repl');
  const res = await request('POST', '/runs', JSON.stringify({ ...smallRunConfig(replicated), nats: { replicas: 3 } }));
  assert.equal(res.status, 400);
  const body = (await res.json()) as ErrorJson;
  assert.equal(body.error.field, 'replicas');
  assert.match(body.error.message, /needs a clustered NATS/);
  assert.equal(runs.view(replicated).state, 'failed');

  const lower = nats.newRunId('col-x');
  const upper = lower.toUpperCase().replaceAll('-', '_');
  nats.newRunId(upper); // cleaned up after the file, if it ever got streams
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(lower, 50)))).status, 201);
  const collide = await request('POST', '/runs', JSON.stringify(smallRunConfig(upper)));
  assert.equal(collide.status, 400);
  assert.equal(((await collide.json()) as ErrorJson).error.field, 'run_id');
  assert.equal(runs.view(lower).state, 'running', 'the run whose streams the new id collides with goes on');
});

test('HEAD on the SSE route answers headers without starting a stream (no listeners left behind)', async () => {
  const { runs, request } = gateway();
  const runId = nats.newRunId('head');
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))).status, 201);
  const { controller } = runs.get(runId);
  const listeners = () => ['metrics', 'curriculum', 'end'].map((e) => controller.listenerCount(e));
  const before = listeners();
  for (let i = 0; i < 3; i++) {
    const res = await request('HEAD', `/runs/${runId}/metrics?stream=1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(listeners(), before);
});

test('a deeply nested body is a 400 naming where, not a stack overflow', async () => {
  const { request } = gateway();
  const depth = 8000;
  const res = await request('POST', '/runs', `{"curriculum":{"name":"uniform","params":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}}`);
  assert.equal(res.status, 400);
  const body = (await res.json()) as ErrorJson;
  assert.match(body.error.field ?? '', /^curriculum\.params\.x\.0\.0/);
  assert.match(body.error.message, /nested deeper than 32 levels/);
});

test('the OpenAPI document gives the run id no fixed default (the gateway generates one per run)', async () => {
  const { request } = gateway();
  const doc = (await (await request('GET', '/openapi.json')).json()) as { components: { schemas: { RunConfig: { properties: { run_id: Record<string, unknown> } } } } };
  const runId = doc.components.schemas.RunConfig.properties.run_id;
  assert.equal('default' in runId, false);
  assert.match(String(runId.description), /generates/);
});

test('with spans exported over OTLP the trace list says where they went (the span files it reads stay empty)', async () => {
  const { request } = gateway('http://otel-collector:4318');
  const runId = nats.newRunId('otlp');
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))).status, 201);
  const list = (await (await request('GET', `/runs/${runId}/traces`)).json()) as { traces: unknown[]; otlpEndpoint?: string };
  assert.deepEqual(list, { runId, traces: [], otlpEndpoint: 'http://otel-collector:4318' });
  const local = (await (await gateway().request('GET', `/runs/${runId}/traces`)).json()) as Record<string, unknown>;
  assert.equal('otlpEndpoint' in local, false);
});

test('two requests resuming the same ended run: one starts it, the other is refused (two controllers would share its consumers)', async () => {
  const { runs, request } = gateway();
  const runId = nats.newRunId('race');
  assert.equal((await request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))).status, 201);
  assert.equal((await request('POST', `/runs/${runId}/stop`)).status, 200);
  const both = await Promise.all([0, 1].map(() => request('POST', '/runs', JSON.stringify(smallRunConfig(runId, 50)))));
  assert.deepEqual(both.map((r) => r.status).sort(), [201, 400]);
  const refused = (await both.find((r) => r.status === 400)!.json()) as ErrorJson;
  assert.match(refused.error.message, /being started by another request|already running/);
  assert.equal(runs.view(runId).state, 'running');
});
