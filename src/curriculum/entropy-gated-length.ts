// `entropy-gated-length`: the length curriculum of ALGORITHMS.md 2: train stage m at max length L_m (a ladder
// doubling from 128); at each stage end, grow to L_{m+1} only if held-out entropy >= H_min, else stop growing.
import { z } from 'zod';
import type { CurriculumControls, CurriculumLayer, CurriculumPartState, CurriculumSignal, Json, TaskPick } from './types.ts';

export const entropyGatedLengthParams = z
  .object({
    /** First rung L_0, tokens. Default 128. */
    start_length: z.number().int().min(1).default(128),
    /** Ratio between rungs, > 1. Default 2 (doubling). */
    growth: z.number().gt(1).default(2),
    /** Top rung cap, tokens. Default 4096. */
    max_length: z.number().int().min(1).default(4096),
    /** Learner steps per stage. Default 100. */
    steps_per_stage: z.number().int().min(1).default(100),
    /** Absolute entropy floor H_min, nats; 0 = use `min_entropy_ratio` x the initial student's entropy. Default 0. */
    min_entropy: z.number().min(0).default(0),
    /** H_min as a fraction of the first held-out entropy measured (the initial student), (0, 1]. Default 0.5. */
    min_entropy_ratio: z.number().gt(0).max(1).default(0.5),
  })
  .strict();
export type EntropyGatedLengthParams = z.infer<typeof entropyGatedLengthParams>;

/** The length ladder L_0 < L_1 < ... <= max_length. */
export function lengthLadder(p: Pick<EntropyGatedLengthParams, 'start_length' | 'growth' | 'max_length'>): number[] {
  const out: number[] = [];
  for (let l = p.start_length; ; l = Math.round(l * p.growth)) {
    if (l >= p.max_length) {
      out.push(p.max_length);
      return out;
    }
    out.push(l);
  }
}

interface GateData {
  stage: number;
  stageStart: number;
  frozen: boolean;
  initialEntropy: number | null;
  lastEntropy: number | null;
}

export class EntropyGatedLength implements CurriculumLayer {
  readonly name = 'entropy-gated-length';
  private readonly ladder: number[];

  constructor(
    private readonly params: EntropyGatedLengthParams,
    private readonly d: GateData = { stage: 0, stageStart: 0, frozen: false, initialEntropy: null, lastEntropy: null },
  ) {
    this.ladder = lengthLadder(params);
  }

  static restore(state: CurriculumPartState): EntropyGatedLength {
    return new EntropyGatedLength(entropyGatedLengthParams.parse(state.params), { ...(state.data as unknown as GateData) });
  }

  get minEntropy(): number | null {
    if (this.params.min_entropy > 0) return this.params.min_entropy;
    return this.d.initialEntropy === null ? null : this.params.min_entropy_ratio * this.d.initialEntropy;
  }

  get stage(): number {
    return this.d.stage;
  }

  get frozen(): boolean {
    return this.d.frozen;
  }

  private stageDone(step: number): boolean {
    return step - this.d.stageStart >= this.params.steps_per_stage;
  }

  private growing(): boolean {
    return !this.d.frozen && this.d.stage < this.ladder.length - 1;
  }

  decorate(picks: TaskPick[]): TaskPick[] {
    return picks;
  }

  /** The first measurement sets the initial entropy; a measurement at a stage end decides grow or stop. */
  update(_feedback: unknown, step: number, signal: CurriculumSignal): void {
    const h = signal.heldoutEntropy;
    if (h === undefined || !Number.isFinite(h)) return;
    this.d.lastEntropy = h;
    if (this.d.initialEntropy === null && this.params.min_entropy === 0) {
      this.d.initialEntropy = h;
      return;
    }
    if (!this.growing() || !this.stageDone(step)) return;
    if (h >= this.minEntropy!) {
      this.d.stage += 1;
      this.d.stageStart = step;
    } else {
      this.d.frozen = true; // stay at the last stable length
    }
  }

  controls(step: number): CurriculumControls {
    const needs = (this.d.initialEntropy === null && this.params.min_entropy === 0) || (this.growing() && this.stageDone(step));
    return { maxNewTokens: this.ladder[this.d.stage]!, needsHeldoutEntropy: needs };
  }

  state(): CurriculumPartState {
    return { name: this.name, params: { ...this.params }, data: { ...this.d } as unknown as Json };
  }
}
