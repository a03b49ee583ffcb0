// The gateway's HTTP API (Hono): health, Prometheus metrics and the run endpoints over the run controllers.
import { Hono } from 'hono';
import { readFileSync, existsSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { toHttpError } from '../../src/platform/errors-map.ts';
import { RlmeshError, ErrorCategory } from '../../src/errors.ts';
import type { RunController } from './controller.ts';

export interface GatewayDeps {
  runs: Map<string, RunController>;
  registry: Registry;
}

function readMetrics(file: string): unknown[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export function createApp(deps: GatewayDeps): Hono {
  const app = new Hono();
  const findRun = (id: string): RunController => {
    const run = deps.runs.get(id);
    if (!run) throw new RlmeshError(ErrorCategory.notFound, `run "${id}" not found`, { field: 'id' });
    return run;
  };
  app.onError((err, c) => {
    const { status, body } = toHttpError(err);
    return c.json(body, status as 400);
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/metrics', async (c) => c.text(await deps.registry.metrics(), 200, { 'content-type': deps.registry.contentType }));
  app.get('/runs', (c) => c.json({ runs: [...deps.runs.values()].map((r) => r.status()) }));
  app.get('/runs/:id', (c) => c.json(findRun(c.req.param('id')).status()));
  app.post('/runs/:id/stop', async (c) => {
    const run = findRun(c.req.param('id'));
    await run.end('stopped');
    return c.json(run.status());
  });
  app.get('/runs/:id/metrics', (c) => c.json({ events: readMetrics(findRun(c.req.param('id')).metricsFile) }));
  return app;
}
