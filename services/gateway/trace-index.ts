// A run's traces, read from its span files (runs/<id>/spans/*.jsonl, one per process of a local run):
// per-trace summaries for the trace list and the spans of one trace for the waterfall. Span files only grow while a
// run goes on, so each is read incrementally (SpanFileCache): a request reads what was appended since the last one.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseSpanLine, type SpanRecord } from '../../src/platform/telemetry/span-file.ts';
import type { TraceSummary } from './api-schemas.ts';

/**
 * Spans kept per file, the most recent (~40 MB of heap): a long run's files grow without bound (a few hundred bytes
 * a span, spans of one trajectory in every actor's file) and the trace view shows recent traces.
 */
export const MAX_SPANS_PER_FILE = 20_000;
/** A read starts this many bytes before the file's end at most (~25-30k spans); what it skips is forgotten. */
export const MAX_FIRST_READ_BYTES = 8 << 20;
/** Files whose spans are kept, the most recently read (a long-lived gateway views many runs). */
export const MAX_CACHED_FILES = 24;

interface FileState { offset: number; spans: SpanRecord[]; skippedLines: number }

/**
 * Span files read so far, by path. A malformed line (a line torn by a killed writer, then appended to by its
 * successor) is skipped and counted, not the whole file; a file that shrank was replaced and is read again.
 */
export class SpanFileCache {
  private readonly files = new Map<string, FileState>();

  read(file: string): SpanRecord[] {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      this.files.delete(file);
      return [];
    }
    let st = this.files.get(file);
    if (!st || size < st.offset) st = { offset: 0, spans: [], skippedLines: 0 };
    // most recently read last; the least recently read beyond MAX_CACHED_FILES are forgotten
    this.files.delete(file);
    this.files.set(file, st);
    for (const old of this.files.keys()) {
      if (this.files.size <= MAX_CACHED_FILES) break;
      this.files.delete(old);
    }
    if (size > st.offset) this.readAppended(file, st, size);
    return st.spans;
  }

  /** Lines skipped as malformed in `file` so far. */
  skippedLines(file: string): number {
    return this.files.get(file)?.skippedLines ?? 0;
  }

  private readAppended(file: string, st: FileState, size: number): void {
    // at most the last MAX_FIRST_READ_BYTES: when more was appended since the last read, the spans before are dropped
    const start = Math.max(st.offset, size - MAX_FIRST_READ_BYTES);
    if (start > st.offset) st.spans = [];
    const buf = Buffer.alloc(size - start);
    const fd = openSync(file, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    // Only whole lines: a last line without its newline is a write in progress, read next time.
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) return;
    // A read that starts inside a line (past the end of the last one read) skips that partial line.
    const begin = start !== st.offset ? buf.indexOf(0x0a) + 1 : 0;
    st.offset = start + end + 1;
    for (const line of buf.toString('utf8', begin, end).split('\n')) {
      try {
        const span = parseSpanLine(line, file, 0);
        if (span) st.spans.push(span);
      } catch {
        st.skippedLines++;
      }
    }
    if (st.spans.length > MAX_SPANS_PER_FILE) st.spans.splice(0, st.spans.length - MAX_SPANS_PER_FILE);
  }
}

const shared = new SpanFileCache();

/** Reads every span file of a run; `extraFiles` (e.g. the gateway's own span file) only add spans of traces seen there. */
export function readRunSpanFiles(runDir: string, extraFiles: readonly string[] = [], cache: SpanFileCache = shared): SpanRecord[] {
  const dir = path.join(runDir, 'spans');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f)) : [];
  const spans = files.flatMap((f) => cache.read(f));
  const own = new Set(files.map((f) => path.resolve(f)));
  const traces = new Set(spans.map((s) => s.traceId));
  for (const f of extraFiles) {
    if (own.has(path.resolve(f))) continue;
    spans.push(...cache.read(f).filter((s) => traces.has(s.traceId)));
  }
  return spans;
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
