// `template-augment`: prompt-template augmentation: each pick is rendered with one of `variants` prompt
// templates (random by seed, or cycling), so the student sees one problem in several phrasings.
import { z } from 'zod';
import type { CurriculumControls, CurriculumLayer, CurriculumPartState, Json, TaskPick } from './types.ts';
import { hash32, Rng } from './rng.ts';

export const templateAugmentParams = z
  .object({
    /** Number of template variants to spread over (the task layer maps index mod its template count), >= 1. Default 3. */
    variants: z.number().int().min(1).max(1000).default(3),
    /** `random`: uniform per pick; `cycle`: 0, 1, 2, ... across picks. Default `random`. */
    mode: z.enum(['random', 'cycle']).default('random'),
  })
  .strict();
export type TemplateAugmentParams = z.infer<typeof templateAugmentParams>;

interface AugmentData {
  rng: number;
  counter: number;
}

export class TemplateAugment implements CurriculumLayer {
  readonly name = 'template-augment';
  constructor(
    private readonly params: TemplateAugmentParams,
    seed: number,
    private readonly rng: Rng = new Rng(hash32(seed, 0x7e3a)),
    private counter = 0,
  ) {}

  static restore(state: CurriculumPartState, seed: number): TemplateAugment {
    const d = state.data as unknown as AugmentData;
    return new TemplateAugment(templateAugmentParams.parse(state.params), seed, Rng.fromState(d.rng), d.counter);
  }

  decorate(picks: TaskPick[]): TaskPick[] {
    return picks.map((p) => ({
      ...p,
      templateIndex: this.params.mode === 'cycle' ? this.counter++ % this.params.variants : this.rng.int(this.params.variants),
    }));
  }

  update(): void {}

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: AugmentData = { rng: this.rng.state, counter: this.counter };
    return { name: this.name, params: { ...this.params }, data: data as unknown as Json };
  }
}
