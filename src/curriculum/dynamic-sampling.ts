// DAPO dynamic sampling (ALGORITHMS.md 3.4) as a pure accumulator: groups whose members all score the same
// (all correct or all wrong) are dropped; valid groups accumulate until the batch is full, then it is truncated.
import { z } from 'zod';
import { RlmeshError } from '../errors.ts';

export const dynamicSamplingParams = z
  .object({
    /** Per-member value compared inside a group: `correct` (0/1 accuracy) or `reward` (total reward). Default `correct`. */
    metric: z.enum(['correct', 'reward']).default('correct'),
    /** Give up after this many generation batches without filling the batch; 0 = unlimited. Default 10. */
    max_gen_batches: z.number().int().min(0).default(10),
  })
  .strict();
export type DynamicSamplingParams = z.infer<typeof dynamicSamplingParams>;

/** A group of rollouts of one prompt, reduced to the per-member metric (plus whatever the caller carries). */
export interface SampledGroup<T = unknown> {
  values: readonly number[];
  item: T;
}

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

export interface DynamicSamplingState<T> {
  kept: Array<SampledGroup<T>>;
  groupsSeen: number;
  groupsDropped: number;
}

/**
 * Collects valid groups for one training batch of `batchGroups` groups. A generation batch is `genBatchGroups`
 * groups offered (default: the train batch size), so the limit is `max_gen_batches * genBatchGroups` groups seen.
 */
export class DynamicSamplingFilter<T = unknown> {
  private kept: Array<SampledGroup<T>> = [];
  private seen = 0;
  private dropped = 0;

  constructor(
    readonly params: DynamicSamplingParams,
    readonly batchGroups: number,
    readonly genBatchGroups: number = batchGroups,
  ) {
    if (!Number.isInteger(batchGroups) || batchGroups < 1) throw new RlmeshError('config', `batch size must be an integer >= 1, got ${batchGroups}`, { field: 'learner.batch_size' });
  }

  static restore<T>(params: DynamicSamplingParams, batchGroups: number, state: DynamicSamplingState<T>, genBatchGroups?: number): DynamicSamplingFilter<T> {
    const f = new DynamicSamplingFilter<T>(params, batchGroups, genBatchGroups);
    f.kept = [...state.kept];
    f.seen = state.groupsSeen;
    f.dropped = state.groupsDropped;
    return f;
  }

  /** Generation batches used so far (fractional batches count as started). */
  get genBatches(): number {
    return Math.ceil(this.seen / this.genBatchGroups);
  }

  get full(): boolean {
    return this.kept.length >= this.batchGroups;
  }

  /** Offers groups; returns how many were kept. Throws once the generation-batch limit is spent without a full batch. */
  offer(groups: ReadonlyArray<SampledGroup<T>>): number {
    let n = 0;
    for (const g of groups) {
      this.seen += 1;
      if (keepGroup(g.values)) {
        this.kept.push(g);
        n += 1;
      } else this.dropped += 1;
    }
    const max = this.params.max_gen_batches;
    if (!this.full && max > 0 && this.seen >= max * this.genBatchGroups) {
      throw new RlmeshError('data', `dynamic sampling: ${this.kept.length}/${this.batchGroups} valid groups after ${this.genBatches} generation batches (max_gen_batches=${max}); every other group had identical ${this.params.metric} values`, {
        field: 'batch_filter.params.max_gen_batches',
        details: { kept: this.kept.length, seen: this.seen, dropped: this.dropped },
      });
    }
    return n;
  }

  /** Takes exactly `batchGroups` groups (surplus discarded, as in DAPO) and starts the next batch. */
  take(): Array<SampledGroup<T>> {
    if (!this.full) throw new RlmeshError('data', `dynamic sampling batch not full: ${this.kept.length}/${this.batchGroups}`, { field: 'batch_filter' });
    const batch = this.kept.slice(0, this.batchGroups);
    this.kept = [];
    this.seen = 0;
    this.dropped = 0;
    return batch;
  }

  stats(): { kept: number; seen: number; dropped: number } {
    return { kept: this.kept.length, seen: this.seen, dropped: this.dropped };
  }

  state(): DynamicSamplingState<T> {
    return { kept: [...this.kept], groupsSeen: this.seen, groupsDropped: this.dropped };
  }
}
