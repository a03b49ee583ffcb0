// Gateway HTTP API against a real gateway process in local mode (real NATS, real actor child processes):
// auth, field errors, malformed/huge bodies, OpenAPI, a run started through the API to its end with a live SSE
// metrics stream, workers, traces across services, Prometheus, and a stop that ends the spawned actors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readSse, smallRunConfig, startGatewayProcess, type GatewayProcess } from './gateway-process.ts';

let gw: GatewayProcess;
before(async () => { gw = await startGatewayProcess(); });
after(async () => { await gw?.stop(); });

interface ErrorJson { error: { category: string; message: string; field?: string }; issues?: Array<{ path: string; message: string }> }
interface Worker { worker: string; actor: string; process: string; health: string; policyVersion: number | null; exitCode: number | string | null }
interface RunJson { runId: string; state: string; step: number; steps: number; policyVersion: number; workers: Worker[]; accounting: { completed: number } }

const post = (path: string, body: string, token?: string) => fetch(`${gw.url}${path}`, {
  method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
});
const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${gw.url}${path}`)).json()) as T;

async function until<T>(fn: () => Promise<T | undefined>, what: string, tries = 120): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('health and OpenAPI document with every path and the run-config schema', async () => {
  assert.deepEqual(await getJson('/healthz'), { ok: true, runs: 0, spawnActors: true });
  const doc = await getJson<{ openapi: string; paths: Record<string, Record<string, { security?: unknown }>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>('/openapi.json');
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/runs', '/runs/{id}', '/runs/{id}/stop', '/runs/{id}/metrics', '/runs/{id}/traces', '/runs/{id}/traces/{traceId}', '/healthz', '/metrics']) assert.ok(doc.paths[p], p);
  assert.ok(doc.paths['/runs']!.post!.security, 'POST /runs documents the bearer requirement');
  assert.ok(doc.components.schemas.RunConfig!.properties!.learner, 'run config schema comes from runConfigObject');
  assert.ok(doc.components.schemas.RunView!.properties!.workers);
});

test('mutating endpoints refuse a missing or wrong bearer token with 401 JSON', async () => {
  for (const token of [undefined, 'wrong-token']) {
    const res = await post('/runs', JSON.stringify(smallRunConfig('auth-run')), token);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="rlmesh"');
    const body = (await res.json()) as ErrorJson;
    assert.equal(body.error.category, 'unauthorized');
  }
  const stop = await post('/runs/auth-run/stop', '', undefined);
  assert.equal(stop.status, 401);
  assert.deepEqual((await getJson<{ runs: unknown[] }>('/runs')).runs, [], 'nothing was started');
});

test('invalid configs answer 400 with the list of field errors', async () => {
  const res = await post('/runs', JSON.stringify({ mode: 'nope', learner: { steps: 0 }, bogus: 1 }), gw.token);
  assert.equal(res.status, 400);
  const body = (await res.json()) as ErrorJson;
  assert.equal(body.error.category, 'config');
  assert.deepEqual(body.issues!.map((i) => i.path).sort(), ['bogus', 'learner.steps', 'mode']);
  assert.match(body.issues!.find((i) => i.path === 'mode')!.message, /must be one of/);

  const cross = await post('/runs', JSON.stringify({ ...smallRunConfig('bad-batch'), learner: { steps: 3, batch_size: 6 } }), gw.token);
  assert.equal(cross.status, 400);
  const crossBody = (await cross.json()) as ErrorJson;
  assert.equal(crossBody.error.field, 'learner.batch_size');
  assert.equal(crossBody.issues![0]!.path, 'learner.batch_size');
  assert.match(crossBody.issues![0]!.message, /multiple of rollout.group_size/);

  const secret = await post('/runs', JSON.stringify({ ...smallRunConfig('secret-run'), nats: { password: 'hunter2' } }), gw.token);
  assert.equal(secret.status, 400);
});

test('malformed JSON is 400, an empty or non-object body is 400, a body over 1 MB is 413, unknown runs are 404', async () => {
  const bad = await post('/runs', '{"mode": "opd",', gw.token);
  assert.equal(bad.status, 400);
  const badBody = (await bad.json()) as ErrorJson;
  assert.equal(badBody.error.field, 'body');
  assert.match(badBody.error.message, /not valid JSON/);
  assert.equal((await post('/runs', '', gw.token)).status, 400);
  for (const body of ['null', '[]', '3']) { // valid JSON, but no run config (null once started a default run)
    const notObject = await post('/runs', body, gw.token);
    assert.equal(notObject.status, 400, body);
    const json = (await notObject.json()) as ErrorJson;
    assert.equal(json.error.field, 'body');
    assert.match(json.error.message, /expected a JSON object/);
  }
  const huge = await post('/runs', JSON.stringify({ pad: 'x'.repeat(1_100_000) }), gw.token);
  assert.equal(huge.status, 413);
  assert.equal(((await huge.json()) as ErrorJson).error.field, 'body');
  const missing = await fetch(`${gw.url}/runs/no-such-run`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as ErrorJson).error.category, 'not_found');
  assert.equal((await fetch(`${gw.url}/runs/no-such-run/traces/${'a'.repeat(32)}`)).status, 404);
  const badTrace = await fetch(`${gw.url}/runs/no-such-run/traces/xyz`);
  assert.equal(badTrace.status, 400);
  assert.equal(((await badTrace.json()) as ErrorJson).issues![0]!.path, 'traceId');
  const badQuery = await fetch(`${gw.url}/runs/no-such-run/traces?limit=0`);
  assert.equal(badQuery.status, 400);
  assert.equal(((await badQuery.json()) as ErrorJson).issues![0]!.path, 'limit');
});

test('a run started through the API reaches its end state and its SSE stream delivers metrics', async () => {
  const runId = `api-run-${process.pid}`;
  const res = await post('/runs', JSON.stringify(smallRunConfig(runId)), gw.token);
  assert.equal(res.status, 201, await res.clone().text());
  assert.deepEqual(await res.json(), { runId, state: 'running', spawnedActors: true });

  const stream = await fetch(`${gw.url}/runs/${runId}/metrics`, { headers: { accept: 'text/event-stream' } });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  const steps: number[] = [];
  let curriculumEvents = 0;
  let end: RunJson | undefined;
  await readSse(stream, (e) => {
    if (e.event === 'metrics') {
      const p = JSON.parse(e.data) as { source: string; step: number; reward?: number };
      if (p.source === 'learner') { steps.push(p.step); assert.equal(typeof p.reward, 'number'); }
    }
    if (e.event === 'curriculum') curriculumEvents++;
    if (e.event === 'end') { end = JSON.parse(e.data) as RunJson; return true; }
  });
  assert.deepEqual(steps, [1, 2, 3], 'one learner metrics event per step, in order');
  assert.ok(curriculumEvents >= 3);
  assert.equal(end!.state, 'finished');

  const view = await getJson<RunJson>(`/runs/${runId}`);
  assert.equal(view.state, 'finished');
  assert.equal(view.step, 3);
  assert.equal(view.policyVersion, 3);
  assert.deepEqual(view.workers.map((w) => w.worker).sort(), ['learner', 'rollout-1', 'teacher', 'verifier']);
  const exited = await until(async () => {
    const v = await getJson<RunJson>(`/runs/${runId}`);
    return v.workers.every((w) => w.process === 'exited') ? v : undefined;
  }, 'spawned actors to exit after the run');
  assert.ok(exited.workers.every((w) => w.exitCode === 0), JSON.stringify(exited.workers));
  assert.equal(exited.workers.find((w) => w.worker === 'learner')!.policyVersion, 3);

  const json = await getJson<{ events: Array<{ step: number; source: string }> }>(`/runs/${runId}/metrics`);
  assert.deepEqual(json.events.filter((e) => e.source === 'learner').map((e) => e.step), [1, 2, 3]);

  // Late subscribers get the recorded points and the end right away.
  let replayed = 0;
  await readSse(await fetch(`${gw.url}/runs/${runId}/metrics?stream=1`), (e) => { if (e.event === 'metrics') replayed++; return e.event === 'end'; });
  assert.equal(replayed, json.events.length);
  const badStream = await fetch(`${gw.url}/runs/${runId}/metrics?stream=yes`);
  assert.equal(badStream.status, 400, 'stream is 0 or 1');
  assert.equal(((await badStream.json()) as ErrorJson).issues![0]!.path, 'stream');

  const { traces } = await getJson<{ traces: Array<{ traceId: string; services: string[]; processes: number }> }>(`/runs/${runId}/traces?min_services=5`);
  assert.ok(traces.length > 0, 'a trajectory trace spans gateway, rollout, verifier, teacher, learner (groups still in flight at the end never reach the learner: their traces have 4)');
  const { spans } = await getJson<{ spans: Array<{ serviceName: string; name: string; traceId: string }> }>(`/runs/${runId}/traces/${traces[0]!.traceId}`);
  const services = new Set(spans.map((s) => s.serviceName));
  for (const s of ['rlmesh-gateway', 'rlmesh-rollout', 'rlmesh-verifier', 'rlmesh-teacher', 'rlmesh-learner']) assert.ok(services.has(s), `${s} in ${[...services].join(',')}`);
  assert.ok(spans.every((s) => s.traceId === traces[0]!.traceId));
  assert.ok(spans.some((s) => s.name === 'learner.ingest'));

  const prom = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(prom, /rlmesh_gateway_runs\{state="finished"[^}]*\} 1/);
  assert.match(prom, /rlmesh_gateway_http_requests_total\{method="POST",route="\/runs",status="201"/);
});

test('POST /runs/:id/stop stops the run and its spawned actors', async () => {
  const runId = `stop-run-${process.pid}`;
  const res = await post('/runs', JSON.stringify(smallRunConfig(runId, 500)), gw.token);
  assert.equal(res.status, 201);
  const again = await post('/runs', JSON.stringify(smallRunConfig(runId, 500)), gw.token);
  assert.equal(again.status, 400, 'a running run id cannot be started twice');
  assert.equal(((await again.json()) as ErrorJson).error.field, 'run_id');
  await until(async () => {
    const v = await getJson<RunJson>(`/runs/${runId}`);
    return v.workers.every((w) => w.process === 'ready') ? v : undefined;
  }, 'workers ready');
  const stopped = await post(`/runs/${runId}/stop`, '', gw.token);
  assert.equal(stopped.status, 200);
  assert.equal(((await stopped.json()) as RunJson).state, 'stopped');
  const v = await until(async () => {
    const r = await getJson<RunJson>(`/runs/${runId}`);
    return r.workers.every((w) => w.process === 'exited') ? r : undefined;
  }, 'workers to exit after stop');
  assert.equal(v.state, 'stopped');
  assert.ok(v.step < 500);
});
