// /runs/:id/traces: trace summaries from the run's span files; /runs/:id/traces/:traceId: one trace's spans.
import path from 'node:path';
import { Hono } from 'hono';
import type { z } from 'zod';
import { parseConfig } from '../../../src/platform/config/index.ts';
import { RlmeshError, ErrorCategory } from '../../../src/errors.ts';
import { tracesQuery, type traceDetail, type traceList } from '../api-schemas.ts';
import type { RunManager } from '../run-manager.ts';
import { readRunSpanFiles, summarizeTraces, traceSpans } from '../trace-index.ts';

export interface TracesRouterOptions {
  /** Span files of this gateway process (RLMESH_SPAN_FILE) whose spans join a run's traces. */
  extraSpanFiles: string[];
  /** Where spans are exported instead of files (OTEL_EXPORTER_OTLP_ENDPOINT), said in the trace list. */
  otlpEndpoint?: string;
}

export function tracesRouter(runs: RunManager, o: TracesRouterOptions): Hono {
  const app = new Hono();
  const spansOf = (runId: string) => readRunSpanFiles(path.dirname(runs.get(runId).controller.metricsFile), o.extraSpanFiles);
  app.get('/:id/traces', (c) => {
    const runId = c.req.param('id');
    const q = parseConfig(c.req.query(), tracesQuery, 'query');
    const traces = summarizeTraces(spansOf(runId)).filter((t) => t.services.length >= q.min_services).slice(0, q.limit);
    const body: z.infer<typeof traceList> = { runId, traces, ...(o.otlpEndpoint ? { otlpEndpoint: o.otlpEndpoint } : {}) };
    return c.json(body);
  });
  app.get('/:id/traces/:traceId', (c) => {
    const runId = c.req.param('id');
    const traceId = c.req.param('traceId');
    if (!/^[0-9a-f]{32}$/.test(traceId)) throw new RlmeshError(ErrorCategory.config, 'traceId: must be 32 lowercase hex digits', { field: 'traceId' });
    const spans = traceSpans(spansOf(runId), traceId);
    if (spans.length === 0) throw new RlmeshError(ErrorCategory.notFound, `trace ${traceId} not found in run ${runId}`, { field: 'traceId' });
    const body: z.infer<typeof traceDetail> = { runId, traceId, spans };
    return c.json(body);
  });
  return app;
}
