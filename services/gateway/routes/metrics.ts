// /runs/:id/metrics: the run's metrics.jsonl as JSON, or Server-Sent Events (`Accept: text/event-stream` or
// `?stream=1`): every recorded point first, then live `metrics`, `curriculum` and `status` events, and `end` at the end.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { parseConfig } from '../../../src/platform/config/index.ts';
import { metricsPoint, metricsQuery, type MetricsPoint, type metricsResponse } from '../api-schemas.ts';
import type { RunManager } from '../run-manager.ts';

/** Keep-alive comment period for idle streams, ms. */
const KEEPALIVE_MS = 15_000;

export function readMetricsFile(file: string): MetricsPoint[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  return lines.flatMap((line) => {
    if (!line.trim()) return [];
    try {
      const parsed = metricsPoint.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return []; // a line being written
    }
  });
}

interface CurriculumPoint { step: number; curriculum: Array<{ key: string; probability: number }> }

function readCurriculumFile(file: string): CurriculumPoint[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as CurriculumPoint] : [];
    } catch {
      return [];
    }
  });
}

export function metricsRouter(runs: RunManager): Hono {
  const app = new Hono();
  app.get('/:id/metrics', (c) => {
    const runId = c.req.param('id');
    const { controller } = runs.get(runId);
    const q = parseConfig(c.req.query(), metricsQuery, 'query');
    const wantsStream = q.stream === '1' || (c.req.header('accept') ?? '').includes('text/event-stream');
    // HEAD (which Hono answers with this GET handler) gets the stream's headers only: a stream nobody reads would
    // keep its listeners, keepalive timer and queue forever.
    if (wantsStream && c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (!wantsStream) {
      const body: z.infer<typeof metricsResponse> = { runId, events: readMetricsFile(controller.metricsFile) };
      return c.json(body);
    }
    return streamSSE(c, async (stream) => {
      const queue: Array<{ event: string; data: unknown }> = [];
      let wake: (() => void) | undefined;
      const push = (event: string, data: unknown) => { queue.push({ event, data }); wake?.(); };
      const onMetrics = (m: { step: number; source: string; values: Record<string, number> }) => {
        push('metrics', { step: m.step, unix_ms: Date.now(), source: m.source, ...m.values });
        push('status', runs.view(runId));
      };
      const onCurriculum = (c: { step: number; curriculum: unknown }) => push('curriculum', { step: c.step, curriculum: c.curriculum });
      const onEnd = () => push('end', runs.view(runId));
      // Subscribing and reading the file in one synchronous turn: the controller appends before it emits,
      // so every point is delivered exactly once.
      controller.on('metrics', onMetrics);
      controller.on('curriculum', onCurriculum);
      controller.once('end', onEnd);
      const backlog = readMetricsFile(controller.metricsFile);
      const curriculumBacklog = readCurriculumFile(path.join(path.dirname(controller.metricsFile), 'curriculum.jsonl'));
      let closed = false;
      stream.onAbort(() => { closed = true; wake?.(); });
      const keepalive = setInterval(() => void stream.write(': keepalive\n\n'), KEEPALIVE_MS);
      try {
        let id = 0;
        for (const point of backlog) await stream.writeSSE({ event: 'metrics', data: JSON.stringify(point), id: String(id++) });
        for (const point of curriculumBacklog) await stream.writeSSE({ event: 'curriculum', data: JSON.stringify(point) });
        await stream.writeSSE({ event: 'status', data: JSON.stringify(runs.view(runId)) });
        const state = controller.status().state;
        if (state !== 'running' && state !== 'starting') push('end', runs.view(runId));
        for (;;) {
          while (queue.length > 0 && !closed) {
            const next = queue.shift()!;
            await stream.writeSSE({ event: next.event, data: JSON.stringify(next.data), id: next.event === 'metrics' ? String(id++) : undefined });
            if (next.event === 'end') return;
          }
          if (closed) return;
          await new Promise<void>((r) => { wake = r; });
          wake = undefined;
        }
      } finally {
        clearInterval(keepalive);
        controller.off('metrics', onMetrics);
        controller.off('curriculum', onCurriculum);
        controller.off('end', onEnd);
      }
    });
  });
  return app;
}
