// Run config -> CompiledRunConfig: schema defaults, mode defaults (teacher, objective), every method validated
// against its registry schema and built, cross-field checks; all errors are RlmeshError(config) naming the field.
import type { z } from 'zod';
import { invalidField, RlmeshError } from '../errors.ts';
import { compileObjectives, methodRegistry, usesTeacherPrefixes, type CompiledMethod, type CompiledObjectives, type MethodFamily, type RewardShaperFn } from '../objectives/index.ts';
import {
  batchFilters,
  createCurriculum,
  curricula,
  describeIssue,
  parseMethodParams,
  validatePool,
  type Arm,
  type Curriculum,
  type CurriculumSpec,
  type DynamicSamplingFilter,
} from '../curriculum/index.ts';
import { parseSuiteSpec, type SuiteEntry } from '../tasks/index.ts';
import { MODES, type ModeRule } from './modes.ts';
import { runConfigSchema, type MethodChoiceConfig, type ParsedRunConfig } from './run-config-schema.ts';

export interface ResolvedMethod {
  name: string;
  /** Every parameter, defaults applied. */
  params: Record<string, unknown>;
}

export interface ResolvedTeacher {
  model: string;
  kind: 'separate' | 'privileged-self';
}

/** The run config with every default applied (schema and mode): what a run echoes and saves. */
export interface RunConfig extends Omit<ParsedRunConfig, 'teacher' | 'objective' | 'token_selector' | 'entropy_control' | 'reward_shaping' | 'curriculum' | 'batch_filter'> {
  teacher: ResolvedTeacher | null;
  objective: ResolvedMethod;
  token_selector: ResolvedMethod | null;
  entropy_control: ResolvedMethod | null;
  reward_shaping: ResolvedMethod[];
  curriculum: ResolvedMethod & { layers: ResolvedMethod[] };
  batch_filter: ResolvedMethod | null;
}

export interface CompiledRunConfig {
  config: RunConfig;
  mode: ModeRule;
  /** (category, difficulty) entries of `tasks.suite`, in order. */
  suite: SuiteEntry[];
  /** Curriculum arms: one per suite entry, `tasks.pool_size` tasks each. */
  pool: Arm[];
  /** Objective, token selector and entropy control, built (reward shaping is `rewardShaping`). */
  objectives: CompiledObjectives;
  /** Reward shapers, applied in order by `applyRewardShaping`. */
  rewardShaping: Array<CompiledMethod<RewardShaperFn>>;
  /** Task groups in one learner batch: whole groups adding up to at least `learner.batch_size` trajectories. */
  groupsPerStep: number;
  /**
   * Learner steps between held-out entropy measurements (at step 1 and every this many: the entropy-gated length
   * curriculum's stage length); undefined when no curriculum layer gates on held-out entropy.
   */
  heldoutEntropyEvery: number | undefined;
  /** A fresh curriculum at step 0 (restore a saved one with `restoreCurriculum`). */
  createCurriculum(pool?: readonly Arm[]): Curriculum;
  /** A fresh batch filter for one learner batch of groups, or null when none is configured. */
  createBatchFilter(): DynamicSamplingFilter | null;
}

const PG_OBJECTIVES = new Set(['grpo', 'dapo', 'bnpo', 'dr-grpo', 'drpo']);

function schemaError(error: z.ZodError): RlmeshError {
  const issues = error.issues.map((i) => {
    const path = i.code === 'unrecognized_keys' ? [...i.path, i.keys[0]!] : i.path;
    return { path: path.join('.') || '(root)', message: describeIssue(i) };
  });
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (+${issues.length - 1} more: ${issues.slice(1, 4).map((i) => `${i.path}: ${i.message}`).join('; ')})` : '';
  return new RlmeshError('config', `${first.path}: ${first.message}${more}`, { field: first.path, details: { issues } });
}

/** Validates a method choice against a name -> { params } record; returns its params with defaults. */
function resolveMethod(record: Record<string, { params: z.AnyZodObject }>, kind: string, choice: MethodChoiceConfig, path: string): ResolvedMethod {
  const method = Object.hasOwn(record, choice.name) ? record[choice.name] : undefined;
  if (!method) throw invalidField(`${path}.name`, `unknown ${kind} "${choice.name}"; allowed: ${Object.keys(record).join(', ')}`);
  return { name: choice.name, params: parseMethodParams(method.params, choice.params, `${path}.params`) };
}

function family(f: MethodFamily): Record<string, { params: z.AnyZodObject }> {
  return methodRegistry[f] as unknown as Record<string, { params: z.AnyZodObject }>;
}

function resolveTeacher(cfg: ParsedRunConfig, mode: ModeRule): ResolvedTeacher | null {
  if (cfg.teacher === null) {
    if (mode.needsTeacher) throw invalidField('teacher', `mode "${cfg.mode}" needs a teacher (set teacher.model, or teacher.kind: privileged-self)`);
    return null;
  }
  if (cfg.teacher === undefined && !mode.needsTeacher) return null;
  if (!mode.needsTeacher) throw invalidField('teacher', `mode "${cfg.mode}" uses no teacher; remove it, or use mode "opd+rlvr" to add the teacher term`);
  const kind = cfg.teacher?.kind ?? (cfg.mode === 'pw-opsd' ? 'privileged-self' : 'separate');
  if (cfg.mode === 'pw-opsd' && kind !== 'privileged-self') throw invalidField('teacher.kind', 'must be "privileged-self" in mode "pw-opsd" (self-distillation)');
  return { kind, model: cfg.teacher?.model ?? (kind === 'privileged-self' ? cfg.student.model : 'models/teacher') };
}

/** Methods the library implements but a run refuses (nothing drives them yet), with why; `rlmesh methods` shows it. */
export const NOT_IN_RUNS: Readonly<Record<string, string>> = {
  aepo: 'its two rollout streams (with and without the entropy regulariser) are not wired into rollout and learner',
};

/**
 * The entropy control, its schedule over the run's own length: Entrocraft's band and CEEH's cos(pi t / T) anneal over
 * `total_steps`, which (unset) is learner.steps; the methods' library default of 1000 left a 200-step run with a band
 * barely started. Methods the learner does not drive are refused rather than run as plain GRPO.
 */
function resolveEntropyControl(cfg: ParsedRunConfig): ResolvedMethod {
  const choice = cfg.entropy_control!;
  const resolved = resolveMethod(family('entropy_control'), 'entropy control', choice, 'entropy_control');
  if (resolved.name === 'aepo') {
    throw invalidField('entropy_control.name', `'aepo' is not available in a run: ${NOT_IN_RUNS.aepo}; use entrocraft, siren, clip-cov or kl-cov`);
  }
  if ('total_steps' in resolved.params && (choice.params as Record<string, unknown> | undefined)?.total_steps === undefined) {
    resolved.params.total_steps = cfg.learner.steps;
  }
  return resolved;
}

function resolveObjective(cfg: ParsedRunConfig, mode: ModeRule): ResolvedMethod {
  const choice = cfg.objective ?? { name: mode.defaultObjective.name, params: { ...mode.defaultObjective.params } };
  const resolved = resolveMethod(family('objective'), 'objective', choice, 'objective');
  if (!mode.objectives.includes(resolved.name)) {
    throw invalidField('objective.name', `objective "${resolved.name}" does not fit mode "${cfg.mode}" (allowed: ${mode.objectives.join(', ')})`);
  }
  const problem = mode.checkParams?.(resolved.name, resolved.params);
  if (problem) throw invalidField(`objective.params.${problem[0]}`, problem[1]);
  // Dr.GRPO divides by B x T_max with T_max the longest completion allowed (ALGORITHMS.md 0.2, 3.3), a constant:
  // left unset, the batch's padded width would change the loss scale from batch to batch.
  if (resolved.params.max_completion_length === null) resolved.params.max_completion_length = cfg.rollout.sampling.max_new_tokens;
  return resolved;
}

function crossChecks(cfg: RunConfig, mode: ModeRule): void {
  const G = cfg.rollout.group_size;
  if (cfg.learner.batch_size % G !== 0) {
    throw invalidField('learner.batch_size', `must be a multiple of rollout.group_size (${G}) so every group is whole, got ${cfg.learner.batch_size}`);
  }
  // The controller keeps at most max_in_flight groups out and the learner waits for a whole batch of groups: with
  // fewer in flight than one step takes, no step ever happens and the run waits forever.
  const groupsPerStep = cfg.learner.batch_size / G;
  if (cfg.rollout.max_in_flight < groupsPerStep) {
    throw invalidField('rollout.max_in_flight', `must be >= ${groupsPerStep}, the groups one learner step takes (learner.batch_size ${cfg.learner.batch_size} / rollout.group_size ${G}); got ${cfg.rollout.max_in_flight}, so the learner would never gather a batch (twice the groups per step keeps rollout busy while the learner trains)`);
  }
  if (cfg.eval.heldout_size > cfg.tasks.heldout_size) {
    throw invalidField('eval.heldout_size', `must be <= tasks.heldout_size (${cfg.tasks.heldout_size}), got ${cfg.eval.heldout_size}`);
  }
  if (usesTeacherPrefixes(cfg.objective) && cfg.teacher?.kind !== 'separate') {
    throw invalidField('teacher.kind', 'teacher prefixes (the teacher writes the completions) need a separate teacher checkpoint');
  }
  // The length reward grades a completion against its task's length budget, which only the tlts-budget curriculum
  // layer sets: without it the verifier refuses every trajectory.
  if ((cfg.reward.weights.length ?? 0) !== 0 && !cfg.curriculum.layers.some((l) => l.name === 'tlts-budget')) {
    throw invalidField('reward.weights.length', 'needs a per-task length budget: add the tlts-budget curriculum layer, or set it to 0');
  }
  if (cfg.token_selector?.name === 'tip' && !mode.needsTeacher) {
    throw invalidField('token_selector.name', `'tip' ranks tokens by teacher-student divergence: mode "${cfg.mode}" has no teacher`);
  }
  const groupRelative = PG_OBJECTIVES.has(cfg.objective.name) || cfg.objective.params.with_env_reward === true || cfg.batch_filter !== null;
  if (groupRelative && G < 2) throw invalidField('rollout.group_size', `must be >= 2 for group-relative advantages (${cfg.objective.name}${cfg.batch_filter ? ` + ${cfg.batch_filter.name}` : ''}), got ${G}`);
  if (PG_OBJECTIVES.has(cfg.objective.name) && Number(cfg.objective.params.kl_coef ?? 0) > 0) {
    // The k3 KL term needs log-probs of a frozen reference policy, and no actor of a run computes them.
    throw invalidField('objective.params.kl_coef', 'must be 0: a run has no reference model to take the KL to (use entropy_control, or opd_kl_coef with a teacher)');
  }
  if (!mode.usesRewards && cfg.reward_shaping.length > 0) {
    throw invalidField('reward_shaping', `mode "${cfg.mode}" trains on no verifier reward; reward shaping applies to modes rlvr and opd+rlvr`);
  }
  if (!mode.usesRewards && cfg.batch_filter !== null) {
    throw invalidField('batch_filter', `mode "${cfg.mode}" trains on no verifier reward; ${cfg.batch_filter.name} applies to modes rlvr and opd+rlvr`);
  }
}

/** Validates and compiles a raw (parsed YAML/JSON) run config. Throws RlmeshError(config) naming the field. */
export function compileRunConfig(raw: unknown): CompiledRunConfig {
  const parsed = runConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw schemaError(parsed.error);
  const cfg = parsed.data;
  const mode = MODES[cfg.mode];
  const suite = parseSuiteSpec(cfg.tasks.suite, 'tasks.suite');

  const config: RunConfig = {
    run_id: cfg.run_id,
    mode: cfg.mode,
    seed: cfg.seed,
    student: cfg.student,
    teacher: resolveTeacher(cfg, mode),
    tasks: cfg.tasks,
    rollout: cfg.rollout,
    learner: cfg.learner,
    objective: resolveObjective(cfg, mode),
    token_selector: cfg.token_selector && resolveMethod(family('token_selector'), 'token selector', cfg.token_selector, 'token_selector'),
    entropy_control: cfg.entropy_control && resolveEntropyControl(cfg),
    reward_shaping: cfg.reward_shaping.map((m, i) => resolveMethod(family('reward_shaping'), 'reward shaping', m, `reward_shaping.${i}`)),
    curriculum: {
      ...resolveMethod(
        Object.fromEntries(Object.entries(curricula).filter(([, m]) => m.kind === 'sampler')),
        'curriculum',
        { name: cfg.curriculum.name, params: cfg.curriculum.params },
        'curriculum',
      ),
      layers: cfg.curriculum.layers.map((l, i) =>
        resolveMethod(Object.fromEntries(Object.entries(curricula).filter(([, m]) => m.kind === 'layer')), 'curriculum layer', l, `curriculum.layers.${i}`),
      ),
    },
    reward: cfg.reward,
    batch_filter: cfg.batch_filter && resolveMethod(batchFilters, 'batch filter', cfg.batch_filter, 'batch_filter'),
    eval: cfg.eval,
    nats: cfg.nats,
    target_accuracy: cfg.target_accuracy,
  };
  crossChecks(config, mode);

  const objectives = compileObjectives({ objective: config.objective, token_selector: config.token_selector, entropy_control: config.entropy_control });
  const rewardShaping = config.reward_shaping.map((m, i) => {
    const spec = family('reward_shaping')[m.name] as unknown as { build(p: unknown): RewardShaperFn };
    try {
      return { name: m.name, params: m.params, fn: spec.build(m.params) };
    } catch (e) {
      if (e instanceof RlmeshError) throw invalidField(`reward_shaping.${i}.params${e.field ? `.${e.field}` : ''}`, e.message);
      throw e;
    }
  });

  const pool: Arm[] = suite.map((e) => ({ category: e.category, difficulty: e.difficulty, size: config.tasks.pool_size }));
  const spec: CurriculumSpec = { name: config.curriculum.name, params: config.curriculum.params, layers: config.curriculum.layers };
  const make = (p: readonly Arm[] = pool) => createCurriculum(spec, { pool: validatePool(p), seed: config.seed, totalSteps: config.learner.steps });
  make(); // pool-dependent checks (e.g. h1-horizon needs its category in the suite) fail at compile time
  const filter = config.batch_filter;
  const groupsPerStep = Math.max(1, Math.ceil(config.learner.batch_size / config.rollout.group_size));
  return {
    config,
    mode,
    suite,
    pool,
    objectives,
    rewardShaping,
    createCurriculum: make,
    groupsPerStep,
    heldoutEntropyEvery: config.curriculum.layers.find((l) => l.name === 'entropy-gated-length')?.params.steps_per_stage as number | undefined,
    createBatchFilter: () => (filter ? batchFilters[filter.name]!.build(filter.params, groupsPerStep) : null),
  };
}
