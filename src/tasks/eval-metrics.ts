// Evaluation metrics over graded samples: accuracy, Avg@k, unbiased pass@k, mean response length, with
// per-category and per-difficulty breakdowns.
import { invalidField } from '../errors.ts';

export interface GradedSample {
  taskId: string;
  category: string;
  difficulty: number;
  correct: boolean;
  /** response length, tokens */
  length: number;
  reward?: number;
}

export interface EvalMetrics {
  tasks: number;
  samples: number;
  /** fraction of all samples that are correct */
  accuracy: number;
  /** mean over tasks of the per-task fraction correct (k = samples per task) */
  avgAtK: number;
  /** unbiased pass@k per requested k, averaged over tasks */
  passAtK: Record<number, number>;
  meanLength: number;
  meanReward: number;
}

export interface EvalReport {
  ks: number[];
  overall: EvalMetrics;
  byCategory: Record<string, EvalMetrics>;
  /** key: difficulty level across categories, e.g. "3" */
  byDifficulty: Record<string, EvalMetrics>;
  /** key: "<category>/d<difficulty>", e.g. "add/d3" */
  byCategoryDifficulty: Record<string, EvalMetrics>;
}

/**
 * Unbiased pass@k for n samples with c correct: 1 - C(n-c, k) / C(n, k), computed as the stable product
 * 1 - prod_{i=n-c+1..n} (1 - k/i) (no large binomials).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw invalidField('k', `pass@k needs integers 1 <= k <= n and 0 <= c <= n (n=${n}, c=${c}, k=${k})`);
  }
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

interface TaskTally {
  n: number;
  c: number;
  length: number;
  reward: number;
}

function summarise(tallies: readonly TaskTally[], ks: readonly number[]): EvalMetrics {
  let samples = 0;
  let correct = 0;
  let length = 0;
  let reward = 0;
  let perTask = 0;
  const pass: Record<number, number> = {};
  for (const k of ks) pass[k] = 0;
  for (const t of tallies) {
    samples += t.n;
    correct += t.c;
    length += t.length;
    reward += t.reward;
    perTask += t.c / t.n;
    for (const k of ks) pass[k]! += passAtK(t.n, t.c, k);
  }
  const T = tallies.length;
  for (const k of ks) pass[k] = T ? pass[k]! / T : 0;
  return {
    tasks: T,
    samples,
    accuracy: samples ? correct / samples : 0,
    avgAtK: T ? perTask / T : 0,
    passAtK: pass,
    meanLength: samples ? length / samples : 0,
    meanReward: samples ? reward / samples : 0,
  };
}

/** Groups samples by task id and computes every metric; throws RlmeshError (field "k") when a task has < k samples. */
export function evaluateSamples(samples: readonly GradedSample[], ks: readonly number[] = [1]): EvalReport {
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw invalidField('k', `must be a positive integer, got ${k}`);
  const byTask = new Map<string, TaskTally & { category: string; difficulty: number }>();
  for (const s of samples) {
    let t = byTask.get(s.taskId);
    if (!t) {
      t = { n: 0, c: 0, length: 0, reward: 0, category: s.category, difficulty: s.difficulty };
      byTask.set(s.taskId, t);
    }
    t.n++;
    t.c += s.correct ? 1 : 0;
    t.length += s.length;
    t.reward += s.reward ?? (s.correct ? 1 : 0);
  }
  for (const [id, t] of byTask) {
    const k = Math.max(...ks);
    if (t.n < k) throw invalidField('k', `task ${id} has ${t.n} samples, fewer than k=${k}`);
  }
  const groups = (key: (t: { category: string; difficulty: number }) => string): Record<string, EvalMetrics> => {
    const m = new Map<string, TaskTally[]>();
    for (const t of byTask.values()) {
      const g = key(t);
      m.set(g, [...(m.get(g) ?? []), t]);
    }
    return Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([g, ts]) => [g, summarise(ts, ks)]));
  };
  return {
    ks: [...ks],
    overall: summarise([...byTask.values()], ks),
    byCategory: groups((t) => t.category),
    byDifficulty: groups((t) => String(t.difficulty)),
    byCategoryDifficulty: groups((t) => `${t.category}/d${t.difficulty}`),
  };
}
