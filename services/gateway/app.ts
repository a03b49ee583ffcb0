// The gateway's HTTP API (Hono): runs, metrics (JSON + SSE), traces, health, Prometheus, OpenAPI and the dashboard.
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { healthBody } from './api-schemas.ts';
import { errorResponse, limitBody, requireBearer } from './http-boundary.ts';
import { httpMetrics } from './http-metrics.ts';
import { openApiDocument } from './openapi.ts';
import type { RunManager } from './run-manager.ts';
import { dashboardRouter } from './routes/dashboard.ts';
import { metricsRouter } from './routes/metrics.ts';
import { runsRouter } from './routes/runs.ts';
import { tracesRouter } from './routes/traces.ts';

export interface GatewayDeps {
  runs: RunManager;
  registry: Registry;
  /** Bearer token mutating endpoints require (RLMESH_API_TOKEN); unset = they answer 401. */
  apiToken?: string;
  /** Span files of the gateway process itself, merged into run traces. */
  extraSpanFiles?: string[];
  /** OTEL_EXPORTER_OTLP_ENDPOINT when spans go to a collector: the trace view says so instead of staying empty. */
  otlpEndpoint?: string;
}

export function createApp(deps: GatewayDeps): Hono {
  const app = new Hono();
  const openapi = openApiDocument();
  app.onError(errorResponse);
  app.notFound((c) => c.json({ error: { category: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.use('*', httpMetrics(deps.registry, deps.runs));
  app.use('*', requireBearer(deps.apiToken));
  app.use('*', limitBody());
  app.get('/healthz', (c) => {
    const body: z.infer<typeof healthBody> = { ok: true, runs: deps.runs.list().length, spawnActors: deps.runs.spawnsActors };
    return c.json(body);
  });
  app.get('/metrics', async (c) => c.text(await deps.registry.metrics(), 200, { 'content-type': deps.registry.contentType }));
  app.get('/openapi.json', (c) => c.json(openapi));
  app.route('/runs', runsRouter(deps.runs));
  app.route('/runs', metricsRouter(deps.runs));
  app.route('/runs', tracesRouter(deps.runs, { extraSpanFiles: deps.extraSpanFiles ?? [], otlpEndpoint: deps.otlpEndpoint }));
  app.route('/', dashboardRouter());
  return app;
}
