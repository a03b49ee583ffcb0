// DAPO dynamic sampling (ALGORITHMS.md 3.4) as a pure gate: groups whose members all score the same (all correct
// or all wrong) carry no group-relative signal and are filtered out; the caller keeps sampling until its batch holds
// enough admitted groups. Used the same way by the in-process loop and the distributed learner.
import { z } from 'zod';
import { RlmeshError } from '../errors.ts';

export const dynamicSamplingParams = z
  .object({
    /** Per-member value compared inside a group: `correct` (0/1 accuracy) or `reward` (total reward). Default `correct`. */
    metric: z.enum(['correct', 'reward']).default('correct'),
    /**
     * Stop filtering for the current batch after this many generation batches (of the train batch's group count)
     * without filling it; 0 = never stop. Default 10. DAPO raises an error there; a service must not stall or
     * stop a run, so the batch is filled with unfiltered groups instead and the step reports `filter_exhausted`.
     */
    max_gen_batches: z.number().int().min(0).default(10),
  })
  .strict();
export type DynamicSamplingParams = z.infer<typeof dynamicSamplingParams>;

/** True when a group carries learning signal: at least two members differ (tolerance 1e-12). */
export function keepGroup(values: readonly number[]): boolean {
  if (values.length < 2) return false;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi - lo > 1e-12;
}

/** What a group member is reduced to for the comparison. */
export interface ScoredMember {
  reward?: { total: number; correct: boolean };
}

/** The per-member values the filter compares (`metric`), in member order; an unrewarded member counts as 0. */
export function groupValues(metric: DynamicSamplingParams['metric'], members: readonly ScoredMember[]): number[] {
  return members.map((m) => (metric === 'correct' ? (m.reward?.correct ? 1 : 0) : (m.reward?.total ?? 0)));
}

/** Counters of the batch being filled. */
export interface DynamicSamplingStats {
  /** Groups offered since the last batch was taken. */
  seen: number;
  /** Of those, filtered out. */
  filtered: number;
  /** The generation-batch limit was reached, so later groups were admitted unfiltered. */
  exhausted: boolean;
}

/** A batch's filter counters as the step metrics both training loops report. */
export function filterStepMetrics(s: DynamicSamplingStats): Record<string, number> {
  return { filtered_groups: s.filtered, filter_exhausted: s.exhausted ? 1 : 0 };
}

/**
 * Admits or filters groups for one training batch of `batchGroups` groups. A generation batch is `batchGroups`
 * groups offered, so filtering stops once `max_gen_batches * batchGroups` groups were seen for the same batch.
 */
export class DynamicSamplingFilter {
  private seen = 0;
  private filtered = 0;

  constructor(readonly params: DynamicSamplingParams, readonly batchGroups: number) {
    if (!Number.isInteger(batchGroups) || batchGroups < 1) throw new RlmeshError('config', `batch size must be an integer >= 1, got ${batchGroups}`, { field: 'learner.batch_size' });
  }

  /** Past the generation-batch limit for the current batch. */
  get exhausted(): boolean {
    const max = this.params.max_gen_batches;
    return max > 0 && this.seen >= max * this.batchGroups;
  }

  /** Offers one group's members; true when it should be trained on. */
  admit(members: readonly ScoredMember[]): boolean {
    const limitReached = this.exhausted;
    this.seen += 1;
    if (limitReached || keepGroup(groupValues(this.params.metric, members))) return true;
    this.filtered += 1;
    return false;
  }

  stats(): DynamicSamplingStats {
    return { seen: this.seen, filtered: this.filtered, exhausted: this.exhausted };
  }

  /** The batch was taken: returns its counters and starts counting for the next one. */
  batchTaken(): DynamicSamplingStats {
    const s = this.stats();
    this.seen = 0;
    this.filtered = 0;
    return s;
  }
}
