// Builds and restores a whole curriculum: one sampler plus layers sharing a seed, a pool and a step counter.
import type { z } from 'zod';
import { invalidField, RlmeshError } from '../errors.ts';
import type { Arm, ArmProbability, Curriculum, CurriculumControls, CurriculumFeedback, CurriculumLayer, CurriculumSignal, CurriculumState, TaskPick, TaskSampler } from './types.ts';
import { curricula, type CurriculumContext, type CurriculumMethod, type LayerMethod, type SamplerMethod } from './registry.ts';
import { validatePool } from './pool.ts';

/** A named method with its (raw or defaulted) params. */
export interface MethodSpec {
  name: string;
  params?: Record<string, unknown>;
}

/** User-level description of a curriculum: the sampler and its layers. */
export interface CurriculumSpec extends MethodSpec {
  layers?: MethodSpec[];
}

export interface CurriculumOptions {
  pool: readonly Arm[];
  seed: number;
  /** Learner steps in the run (schedules spanning the run use it). Default 1000. */
  totalSteps?: number;
}

function allowed(kind: CurriculumMethod['kind']): string {
  return Object.entries(curricula).filter(([, v]) => v.kind === kind).map(([k]) => k).join(', ');
}

function samplerMethod(name: string, field: string): SamplerMethod {
  const m = Object.hasOwn(curricula, name) ? curricula[name] : undefined;
  if (m?.kind !== 'sampler') throw invalidField(field, `unknown curriculum "${name}"; allowed: ${allowed('sampler')}`);
  return m;
}

function layerMethod(name: string, field: string): LayerMethod {
  const m = Object.hasOwn(curricula, name) ? curricula[name] : undefined;
  if (m?.kind !== 'layer') throw invalidField(field, `unknown curriculum layer "${name}"; allowed: ${allowed('layer')}`);
  return m;
}

/**
 * Largest |advantage| a feedback record may carry: rewards are weighted sums of bounded components, and a bandit's
 * values (sums of |A| x samples, softmax over them) must stay finite.
 */
export const MAX_FEEDBACK_ADVANTAGE = 1e9;

/** Feedback comes from the learner over NATS: refuses malformed records (a data error naming the record and field). */
export function checkFeedback(feedback: readonly CurriculumFeedback[]): void {
  if (!Array.isArray(feedback)) throw new RlmeshError('data', 'feedback: must be a list of records', { field: 'feedback' });
  feedback.forEach((f, i) => {
    const bad = (key: string, why: string) => new RlmeshError('data', `feedback.${i}.${key}: ${why}`, { field: `feedback.${i}.${key}` });
    if (typeof f?.category !== 'string') throw bad('category', 'must be a string');
    if (!Number.isInteger(f.difficulty)) throw bad('difficulty', `must be an integer, got ${String(f.difficulty)}`);
    if (!Number.isInteger(f.samples) || f.samples < 1) throw bad('samples', `must be an integer >= 1, got ${String(f.samples)}`);
    if (!(f.passRate >= 0 && f.passRate <= 1)) throw bad('passRate', `must be in [0, 1], got ${String(f.passRate)}`);
    if (!(f.meanAbsAdvantage >= 0 && f.meanAbsAdvantage <= MAX_FEEDBACK_ADVANTAGE)) {
      throw bad('meanAbsAdvantage', `must be a number in [0, ${MAX_FEEDBACK_ADVANTAGE}], got ${String(f.meanAbsAdvantage)}`);
    }
    if (f.meanReward !== undefined && !Number.isFinite(f.meanReward)) throw bad('meanReward', `must be a finite number, got ${String(f.meanReward)}`);
    if (f.index !== undefined && !(Number.isInteger(f.index) && f.index >= 0)) throw bad('index', `must be an integer >= 0, got ${String(f.index)}`);
    if (f.step !== undefined && !(Number.isInteger(f.step) && f.step >= 0)) throw bad('step', `must be an integer >= 0, got ${String(f.step)}`);
  });
}

class ComposedCurriculum implements Curriculum {
  constructor(
    private readonly sampler: TaskSampler,
    private readonly layers: CurriculumLayer[],
    private readonly ctx: CurriculumContext,
    private currentStep = 0,
  ) {}

  get name(): string {
    return [this.sampler.name, ...this.layers.map((l) => l.name)].join('+');
  }

  get step(): number {
    return this.currentStep;
  }

  next(n: number): TaskPick[] {
    if (!Number.isInteger(n) || n < 0) throw invalidField('n', `must be an integer >= 0, got ${n}`);
    let picks = this.sampler.next(n, this.currentStep);
    for (const l of this.layers) picks = l.decorate(picks, this.currentStep);
    return picks;
  }

  update(feedback: readonly CurriculumFeedback[], signal: CurriculumSignal = {}): void {
    checkFeedback(feedback);
    const step = signal.step ?? this.currentStep + 1;
    if (!Number.isInteger(step) || step < 0) throw invalidField('step', `must be an integer >= 0, got ${step}`);
    this.currentStep = step;
    this.sampler.update(feedback, step, signal);
    for (const l of this.layers) l.update(feedback, step, signal);
  }

  controls(): CurriculumControls {
    const out: CurriculumControls = {};
    for (const part of [this.sampler, ...this.layers]) {
      const c = part.controls(this.currentStep);
      if (c.maxNewTokens !== undefined) out.maxNewTokens = Math.min(out.maxNewTokens ?? Infinity, c.maxNewTokens);
      if (c.lengthBudget !== undefined) out.lengthBudget = c.lengthBudget;
      if (c.needsHeldoutEntropy) out.needsHeldoutEntropy = true;
    }
    return out;
  }

  probabilities(): ArmProbability[] {
    return this.sampler.probabilities();
  }

  state(): CurriculumState {
    return {
      version: 1,
      seed: this.ctx.seed,
      pool: this.ctx.pool.map((a) => ({ ...a })),
      totalSteps: this.ctx.totalSteps,
      step: this.currentStep,
      sampler: this.sampler.state(),
      layers: this.layers.map((l) => l.state()),
    };
  }
}

/** Validates method params, turning the first zod issue into a RlmeshError naming `<field>.<path>`. */
export function parseMethodParams(schema: z.AnyZodObject, raw: unknown, field: string): Record<string, unknown> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const keyPath = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const path = [field, ...keyPath.map(String)].filter((x) => x !== '').join('.');
  const allowed = issue.code === 'unrecognized_keys' ? `; allowed: ${Object.keys(schema.shape).join(', ')}` : '';
  throw invalidField(path, `${describeIssue(issue)}${allowed}`);
}

/** A short message for one zod issue: bounds as `<= 1`, unknown keys listed. */
export function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === 'too_big' && issue.type === 'number') return `Number must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
  if (issue.code === 'too_small' && issue.type === 'number') return `Number must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

/** Builds a curriculum over `pool` (empty arms dropped; throws when all are empty). */
export function createCurriculum(spec: CurriculumSpec, options: CurriculumOptions): Curriculum {
  const ctx: CurriculumContext = { pool: validatePool(options.pool), seed: options.seed >>> 0, totalSteps: options.totalSteps ?? 1000 };
  const sm = samplerMethod(spec.name, 'curriculum.name');
  const sampler = sm.build(parseMethodParams(sm.params, spec.params, 'curriculum.params'), ctx);
  const layers = (spec.layers ?? []).map((l, i) => {
    const lm = layerMethod(l.name, `curriculum.layers.${i}.name`);
    return lm.build(parseMethodParams(lm.params, l.params, `curriculum.layers.${i}.params`), ctx);
  });
  return new ComposedCurriculum(sampler, layers, ctx);
}

/** Rebuilds a curriculum from `state()` output; it continues exactly where the saved one was. */
export function restoreCurriculum(state: CurriculumState): Curriculum {
  if (state?.version !== 1) throw invalidField('curriculum_state.version', `unsupported curriculum state version ${String(state?.version)}`);
  const ctx: CurriculumContext = { pool: validatePool(state.pool), seed: state.seed >>> 0, totalSteps: state.totalSteps };
  const sampler = samplerMethod(state.sampler.name, 'curriculum_state.sampler.name').restore(state.sampler, ctx);
  const layers = state.layers.map((l, i) => layerMethod(l.name, `curriculum_state.layers.${i}.name`).restore(l, ctx));
  return new ComposedCurriculum(sampler, layers, ctx, state.step);
}
