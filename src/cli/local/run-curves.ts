// The curves of a run (the dashboard's charts) from runs/<id>/metrics.jsonl and curriculum.jsonl, as plot series.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Series } from './svg-plot.ts';

export interface Curve { id: string; title: string; series: Series }

/** Curve id, title and, per series, the metric keys (first present wins) — the same list the dashboard plots. */
const CURVES: Array<[string, string, Record<string, string[]>]> = [
  ['reward', 'reward (mean)', { reward: ['reward'] }],
  ['accuracy', 'accuracy', { batch: ['accuracy'], 'held-out': ['heldout_accuracy', 'eval_accuracy'] }],
  ['reverse_kl', 'reverse KL (student||teacher)', { reverse_kl: ['reverse_kl', 'kl'] }],
  ['entropy', 'entropy (nats/token)', { entropy: ['entropy'] }],
  ['response_length', 'response length (tokens)', { length: ['response_length'] }],
  ['tokens_per_s', 'learner tokens/s', { 'tokens/s': ['tokens_per_s'] }],
  ['staleness', 'not trained: stale drops and filtered groups', { 'stale (total)': ['dropped_stale_total'], 'stale (step)': ['dropped_stale'], 'filtered groups (step)': ['filtered_groups'] }],
];

function readJsonLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as Record<string, unknown>] : [];
    } catch {
      return []; // a line cut by a crash
    }
  });
}

/** `add-d2` -> `add`: curriculum arms grouped by task category. */
export function categoryOf(armKey: string): string {
  return armKey.replace(/[-:/@]d?\d+$/, '');
}

export function runCurves(runDir: string): Curve[] {
  const learner = readJsonLines(path.join(runDir, 'metrics.jsonl')).filter((p) => p.source === 'learner' && typeof p.step === 'number');
  const curves: Curve[] = CURVES.map(([id, title, spec]) => {
    const series: Series = {};
    for (const [name, keys] of Object.entries(spec)) {
      series[name] = learner.flatMap((p) => {
        const k = keys.find((key) => typeof p[key] === 'number');
        return k ? [[p.step as number, p[k] as number] as [number, number]] : [];
      });
    }
    return { id, title, series };
  });
  const byCategory: Series = {};
  for (const line of readJsonLines(path.join(runDir, 'curriculum.jsonl'))) {
    const arms = Array.isArray(line.curriculum) ? (line.curriculum as Array<{ key: string; probability: number }>) : [];
    const sums = new Map<string, number>();
    for (const a of arms) sums.set(categoryOf(a.key), (sums.get(categoryOf(a.key)) ?? 0) + a.probability);
    for (const [cat, p] of sums) (byCategory[cat] ??= []).push([Number(line.step), p]);
  }
  curves.push({ id: 'curriculum', title: 'curriculum weight per category', series: byCategory });
  return curves;
}
