// Prometheus: createMetrics registers process metrics labelled by actor; serveMetrics answers /metrics over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter } from 'prom-client';
import { RlmeshError } from '../../../src/errors.ts';
import { createMetrics, serveMetrics } from '../../../src/platform/telemetry/index.ts';

test('serveMetrics exposes the actor registry on /metrics and 404s elsewhere', async () => {
  const { registry } = createMetrics('verifier', 'run-m');
  const c = new Counter({ name: 'rlmesh_test_items_total', help: 'items', registers: [registry] });
  c.inc(3);
  const server = await serveMetrics(registry, 0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /rlmesh_test_items_total\{actor="verifier",run_id="run-m"\} 3/);
    assert.match(text, /process_cpu_user_seconds_total\{actor="verifier",run_id="run-m"\}/);
    assert.match(text, /nodejs_heap_size_used_bytes/);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
    // A second server on the same port is a clear error.
    await assert.rejects(serveMetrics(registry, server.port, '127.0.0.1'), (e: unknown) => e instanceof RlmeshError && e.field === 'port');
  } finally {
    await server.close();
  }
});
