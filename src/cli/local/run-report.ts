// End-of-run files of a local run: trace statistics from the span files, summary.json and summary.md.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSpanFile, type SpanRecord } from '../../platform/telemetry/index.ts';

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

export function writeSummary(runDir: string, s: RunSummary): void {
  writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(s, null, 2));
  const md = [
    `# rlmesh run ${s.runId}`,
    '',
    `mode **${s.mode}**, objective **${s.objective}**, ${s.steps} learner steps in ${s.wallSeconds.toFixed(0)} s.`,
    '',
    '| held-out accuracy (greedy) | value |',
    '|---|---|',
    `| student before | ${pct(s.studentBefore)} |`,
    `| student after | ${pct(s.studentAfter)} |`,
    ...(s.teacher === null ? [] : [`| teacher | ${pct(s.teacher)} |`]),
    '',
    `${s.heldoutTasks} held-out tasks. Trace: ${s.trace.maxProcesses} processes in one trajectory trace (${s.trace.services.join(', ')}); ` +
      `${s.trace.stepSpans} learner.step spans linking ${s.trace.stepLinks} trajectories.`,
    '',
    '| accounting | count |',
    '|---|---|',
    ...Object.entries(s.accounting).map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(runDir, 'summary.md'), md);
}
