// A run's traces, read from its span files (runs/<id>/spans/*.jsonl, one per process of a local run):
// per-trace summaries for the trace list and the spans of one trace for the waterfall.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readSpanFile, type SpanRecord } from '../../src/platform/telemetry/index.ts';
import type { TraceSummary } from './api-schemas.ts';

/** Reads every span file of a run; `extraFiles` (e.g. the gateway's own span file) only add spans of traces seen there. */
export function readRunSpanFiles(runDir: string, extraFiles: readonly string[] = []): SpanRecord[] {
  const dir = path.join(runDir, 'spans');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f)) : [];
  const spans = files.flatMap(readTolerant);
  const own = new Set(files.map((f) => path.resolve(f)));
  const traces = new Set(spans.map((s) => s.traceId));
  for (const f of extraFiles) {
    if (own.has(path.resolve(f)) || !existsSync(f)) continue;
    spans.push(...readTolerant(f).filter((s) => traces.has(s.traceId)));
  }
  return spans;
}

/** A span file with a malformed line contributes nothing instead of failing the whole listing. */
function readTolerant(file: string): SpanRecord[] {
  try {
    return readSpanFile(file);
  } catch {
    return [];
  }
}

export function summarizeTraces(spans: readonly SpanRecord[]): TraceSummary[] {
  const byTrace = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId);
    if (list) list.push(s);
    else byTrace.set(s.traceId, [s]);
  }
  return [...byTrace].map(([traceId, ss]) => {
    const start = Math.min(...ss.map((s) => s.startUnixMs));
    const end = Math.max(...ss.map((s) => s.endUnixMs));
    const first = ss.reduce((a, b) => (b.startUnixMs < a.startUnixMs ? b : a));
    const task = ss.map((s) => s.attributes['rlmesh.task_id']).find((v) => typeof v === 'string');
    const summary: TraceSummary = {
      traceId, root: first.name, startUnixMs: start, durationMs: end - start, spans: ss.length,
      services: [...new Set(ss.map((s) => s.serviceName))].sort(),
      processes: new Set(ss.map((s) => `${s.serviceName}/${s.pid}`)).size,
    };
    if (typeof task === 'string') summary.taskId = task;
    return summary;
  }).sort((a, b) => b.startUnixMs - a.startUnixMs);
}

/** The spans of one trace, earliest first. */
export function traceSpans(spans: readonly SpanRecord[], traceId: string): SpanRecord[] {
  return spans.filter((s) => s.traceId === traceId).sort((a, b) => a.startUnixMs - b.startUnixMs);
}
