// End-of-run files of a local run: trace statistics from the span files, summary.json, SVG plots of the run's
// curves (plots/*.svg) and summary.md; `regenerateSummary` rebuilds them from summary.json + metrics.jsonl.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { readSpanFile, type SpanRecord } from '../../platform/telemetry/index.ts';
import { runCurves } from './run-curves.ts';
import { linePlotSvg } from './svg-plot.ts';

export function readRunSpans(runDir: string): SpanRecord[] {
  const dir = path.join(runDir, 'spans');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readSpanFile(path.join(dir, f)));
}

export interface TraceStats {
  traces: number;
  /** Most distinct service processes seen in one trace that reached the learner. */
  maxProcesses: number;
  /** Service names of that trace. */
  services: string[];
  exampleTraceId?: string;
  /** learner.step spans and how many trajectory links they carry in total. */
  stepSpans: number;
  stepLinks: number;
}

export function traceStats(spans: readonly SpanRecord[]): TraceStats {
  const byTrace = new Map<string, SpanRecord[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  let best: { id: string; procs: number; services: string[] } | undefined;
  for (const [id, ss] of byTrace) {
    if (!ss.some((s) => s.name === 'learner.ingest')) continue;
    const procs = new Set(ss.map((s) => `${s.serviceName}/${s.pid}`)).size;
    if (!best || procs > best.procs) best = { id, procs, services: [...new Set(ss.map((s) => s.serviceName))].sort() };
  }
  const steps = spans.filter((s) => s.name === 'learner.step');
  return {
    traces: byTrace.size, maxProcesses: best?.procs ?? 0, services: best?.services ?? [], exampleTraceId: best?.id,
    stepSpans: steps.length, stepLinks: steps.reduce((a, s) => a + s.links.length, 0),
  };
}

export interface RunSummary {
  runId: string;
  mode: string;
  objective: string;
  steps: number;
  studentBefore: number;
  studentAfter: number;
  teacher: number | null;
  heldoutTasks: number;
  wallSeconds: number;
  trace: TraceStats;
  accounting: Record<string, number>;
  lastMetrics: Record<string, number>;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Writes plots/<curve>.svg for every curve with data; returns markdown image lines. */
function writePlots(runDir: string): string[] {
  const curves = runCurves(runDir).filter((c) => Object.values(c.series).some((pts) => pts.length > 0));
  if (curves.length === 0) return ['_no learner metrics recorded (metrics.jsonl is empty or missing)_', ''];
  mkdirSync(path.join(runDir, 'plots'), { recursive: true });
  for (const c of curves) writeFileSync(path.join(runDir, 'plots', `${c.id}.svg`), linePlotSvg(c.title, c.series));
  return [curves.map((c) => `![${c.title}](plots/${c.id}.svg)`).join('\n'), ''];
}

export function writeSummary(runDir: string, s: RunSummary): void {
  writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(s, null, 2));
  const delta = s.studentAfter - s.studentBefore;
  const md = [
    `# rlmesh run ${s.runId}`,
    '',
    `mode **${s.mode}**, objective **${s.objective}**, ${s.steps} learner steps in ${s.wallSeconds.toFixed(0)} s.`,
    '',
    '| held-out accuracy (greedy) | value |',
    '|---|---|',
    `| student before | ${pct(s.studentBefore)} |`,
    `| student after | ${pct(s.studentAfter)} (${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(1)} points) |`,
    ...(s.teacher === null ? [] : [`| teacher | ${pct(s.teacher)} |`]),
    '',
    `${s.heldoutTasks} held-out tasks. Trace: ${s.trace.maxProcesses} processes in one trajectory trace (${s.trace.services.join(', ')}); ` +
      `${s.trace.stepSpans} learner.step spans linking ${s.trace.stepLinks} trajectories.`,
    '',
    '## Curves',
    '',
    ...writePlots(runDir),
    '| accounting | count |',
    '|---|---|',
    ...Object.entries(s.accounting).map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(runDir, 'summary.md'), md);
}

/** Rebuilds plots and summary.md of a finished run folder from its summary.json and metrics.jsonl. */
export function regenerateSummary(runDir: string): RunSummary {
  const file = path.join(runDir, 'summary.json');
  if (!existsSync(file)) throw new RlmeshError(ErrorCategory.notFound, `${file} not found (is ${runDir} a finished run folder?)`, { field: 'RUN_DIR' });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RlmeshError(ErrorCategory.data, `${file}: not JSON`, { field: 'summary.json', cause: err });
  }
  const parsed = runSummarySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new RlmeshError(ErrorCategory.data, `${file}: ${at ? `"${at.slice(1)}": ` : ''}${issue.message}`, { field: `summary.json${at}` });
  }
  const summary = parsed.data as RunSummary;
  writeSummary(runDir, summary);
  return summary;
}

/** summary.json as writeSummary reads it (a hand-edited or truncated file is refused naming the key). */
const accuracy = z.number().min(0).max(1);
const count = z.number().int().min(0);
const runSummarySchema = z.object({
  runId: z.string(), mode: z.string(), objective: z.string(), steps: count,
  studentBefore: accuracy, studentAfter: accuracy, teacher: accuracy.nullable(), heldoutTasks: count, wallSeconds: z.number().min(0),
  trace: z.object({ traces: count, maxProcesses: count, services: z.array(z.string()), exampleTraceId: z.string().optional(), stepSpans: count, stepLinks: count }),
  accounting: z.record(z.number()), lastMetrics: z.record(z.number()),
});
