// Plain-text table of an evaluation report (what `rlmesh eval` prints).
import type { EvalMetrics, EvalReport } from './eval-metrics.ts';

function row(name: string, m: EvalMetrics, ks: readonly number[]): string[] {
  const pct = (x: number): string => (100 * x).toFixed(1);
  return [name, String(m.tasks), String(m.samples), pct(m.accuracy), pct(m.avgAtK), ...ks.map((k) => pct(m.passAtK[k] ?? 0)), m.meanLength.toFixed(1)];
}

/** Rows: overall, each category, each category/difficulty. Percentages for accuracy, Avg@k and pass@k. */
export function formatEvalTable(report: EvalReport): string {
  const ks = report.ks;
  const header = ['group', 'tasks', 'samples', 'acc%', 'avg@k%', ...ks.map((k) => `pass@${k}%`), 'mean_len'];
  const rows = [row('overall', report.overall, ks)];
  for (const [name, m] of Object.entries(report.byCategory)) rows.push(row(name, m, ks));
  for (const [name, m] of Object.entries(report.byCategoryDifficulty)) rows.push(row(`  ${name}`, m, ks));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}
