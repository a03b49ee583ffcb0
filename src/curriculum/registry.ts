// Curriculum methods by name (same shape as src/objectives/registry.ts): summary, zod params with defaults,
// and a builder. Samplers choose tasks; layers decorate picks or set length controls; batch filters gate groups.
import { z } from 'zod';
import type { Arm, CurriculumLayer, CurriculumPartState, TaskSampler } from './types.ts';
import { UniformSampler, uniformParams } from './uniform.ts';
import { SecSampler, secParams } from './sec.ts';
import { DumpSampler, dumpParams } from './dump.ts';
import { CuresSampler, curesParams } from './cures.ts';
import { HorizonSampler, horizonParams } from './horizon.ts';
import { BudgetSchedule, budgetScheduleParams } from './budget-schedule.ts';
import { EntropyGatedLength, entropyGatedLengthParams } from './entropy-gated-length.ts';
import { TemplateAugment, templateAugmentParams } from './template-augment.ts';
import { DynamicSamplingFilter, dynamicSamplingParams } from './dynamic-sampling.ts';

/** What a builder needs besides its params. */
export interface CurriculumContext {
  /** Non-empty arms (validatePool applied). */
  pool: readonly Arm[];
  seed: number;
  /** The run's learner steps (schedules that span the run). */
  totalSteps: number;
}

export type ParamsSchema = z.ZodObject<z.ZodRawShape, 'strict'>;

export interface SamplerMethod {
  kind: 'sampler';
  summary: string;
  params: ParamsSchema;
  build(params: unknown, ctx: CurriculumContext): TaskSampler;
  restore(state: CurriculumPartState, ctx: CurriculumContext): TaskSampler;
}

export interface LayerMethod {
  kind: 'layer';
  summary: string;
  params: ParamsSchema;
  build(params: unknown, ctx: CurriculumContext): CurriculumLayer;
  restore(state: CurriculumPartState, ctx: CurriculumContext): CurriculumLayer;
}

export type CurriculumMethod = SamplerMethod | LayerMethod;

export const curricula: Record<string, CurriculumMethod> = {
  uniform: {
    kind: 'sampler',
    summary: 'uniform over non-empty arms (or by task count); tasks shuffled without replacement',
    params: uniformParams,
    build: (p, c) => new UniformSampler(uniformParams.parse(p), c.pool, c.seed),
    restore: (s, c) => UniformSampler.restore(s, c.pool, c.seed),
  },
  sec: {
    kind: 'sampler',
    summary: 'SEC: Boltzmann bandit over arms, Q <- TD(0) of mean |advantage| (spec 10)',
    params: secParams,
    build: (p, c) => new SecSampler(secParams.parse(p), c.pool, c.seed),
    restore: (s, c) => SecSampler.restore(s, c.pool, c.seed),
  },
  dump: {
    kind: 'sampler',
    summary: 'DUMP: UCB over distributions from a window of |advantage|, softmax(UCB/temp) (spec 11)',
    params: dumpParams,
    build: (p, c) => new DumpSampler(dumpParams.parse(p), c.pool, c.seed),
    restore: (s, c) => DumpSampler.restore(s, c.pool, c.seed),
  },
  cures: {
    kind: 'sampler',
    summary: 'CurES: prompts weighted exp(sqrt(p(1-p))/tau) from Beta posteriors, per-subset resets (spec 12)',
    params: curesParams,
    build: (p, c) => new CuresSampler(curesParams.parse(p), c.pool, c.seed),
    restore: (s, c) => CuresSampler.restore(s, c.pool, c.seed),
  },
  'h1-horizon': {
    kind: 'sampler',
    summary: 'h1: chain horizon h = 1 + floor(step/200) up to 5, or adaptive on pass rate (spec 13)',
    params: horizonParams,
    build: (p, c) => new HorizonSampler(horizonParams.parse(p), c.pool, c.seed),
    restore: (s, c) => HorizonSampler.restore(s, c.pool, c.seed),
  },
  'tlts-budget': {
    kind: 'layer',
    summary: 'Train-Long-Think-Short: length budget S0 -> Sf in n step-wise decrements (spec 9c)',
    params: budgetScheduleParams,
    build: (p, c) => new BudgetSchedule(budgetScheduleParams.parse(p), c.totalSteps),
    restore: (s, c) => BudgetSchedule.restore(s, c.totalSteps),
  },
  'entropy-gated-length': {
    kind: 'layer',
    summary: 'max length ladder 128, 256, ...; grow only while held-out entropy >= H_min (spec 2)',
    params: entropyGatedLengthParams,
    build: (p) => new EntropyGatedLength(entropyGatedLengthParams.parse(p)),
    restore: (s) => EntropyGatedLength.restore(s),
  },
  'template-augment': {
    kind: 'layer',
    summary: 'prompt-template augmentation: each pick gets one of N template variants',
    params: templateAugmentParams,
    build: (p, c) => new TemplateAugment(templateAugmentParams.parse(p), c.seed),
    restore: (s, c) => TemplateAugment.restore(s, c.seed),
  },
};

export interface BatchFilterMethod {
  summary: string;
  params: ParamsSchema;
  /** A fresh filter for batches of `batchGroups` groups. */
  build(params: unknown, batchGroups: number): DynamicSamplingFilter;
}

export const batchFilters: Record<string, BatchFilterMethod> = {
  'dapo-dynamic-sampling': {
    summary: 'DAPO: drop groups whose members all score the same; sample until the batch is full (spec 3.4)',
    params: dynamicSamplingParams,
    build: (p, n) => new DynamicSamplingFilter(dynamicSamplingParams.parse(p), n),
  },
};
