// Method registry: for each family, name -> { summary, params (zod, strict, spec defaults), build(params) }.
import { z } from 'zod';
import { RlmeshError } from '../errors.ts';
import { aepoControl } from './aepo.ts';
import { ceehControl } from './ceeh.ts';
import { clipCovControl, klCovControl } from './cov-control.ts';
import { gkdObjective, klMixObjective, opdObjective } from './distillation.ts';
import { drpoObjective } from './drpo.ts';
import { entrocraftControl } from './entrocraft.ts';
import {
  aepoParams,
  ceehParams,
  clipCovParams,
  drpoParams,
  entrocraftParams,
  forwardKlParams,
  gkdParams,
  klCovParams,
  klMixParams,
  lengthBudgetParams,
  opdParams,
  overlongParams,
  pearParams,
  policyGradientParams,
  pwOpsdParams,
  reverseKlParams,
  sirenParams,
  tipParams,
  topEntropyParams,
} from './params.ts';
import { policyGradientObjective } from './policy-gradient.ts';
import { pwOpsdObjective } from './pw-opsd.ts';
import { lengthBudgetShaper, overlongShaper, pearShaper } from './reward-shaping.ts';
import { sirenControl } from './siren.ts';
import { tipSelector, topEntropySelector } from './token-selection.ts';
import type { EntropyControl, ObjectiveFn, RewardShaperFn, TokenSelectorFn } from './types.ts';

/** One method: a one-line summary, its parameter schema and a builder from validated parameters. */
export interface MethodSpec<P extends z.AnyZodObject, F> {
  readonly summary: string;
  readonly params: P;
  build(params: z.infer<P>): F;
}

function method<P extends z.AnyZodObject, F>(summary: string, params: P, build: (p: z.infer<P>) => F): MethodSpec<P, F> {
  return { summary, params, build };
}

const grpoParams = policyGradientParams({ eps_high: 0.2, scale_rewards: 'group' });
const dapoParams = policyGradientParams({ eps_high: 0.28, scale_rewards: 'group' });
const drGrpoParams = policyGradientParams({ eps_high: 0.2, scale_rewards: 'none' });

export const objectives = {
  'opd-reverse-kl': method(
    'On-policy distillation: sampled reverse KL to the teacher as a dense (optionally discounted) advantage (1a)',
    opdParams,
    opdObjective,
  ),
  'gkd-jsd': method('Generalized JSD between student and teacher, teacher weight beta (GKD, 1b)', gkdParams, gkdObjective),
  'kl-mix': method(
    'lambda * reverse KL + (1 - lambda) * forward KL, exact over the vocab, on student or teacher prefixes (2)',
    klMixParams,
    (p) => klMixObjective(p, 'kl-mix'),
  ),
  'forward-kl': method('Forward KL(pT || pS) (soft-target SFT / DAgger-style on student prefixes) (2)', forwardKlParams, () =>
    klMixObjective({ lambda: 0 }, 'forward-kl'),
  ),
  'reverse-kl': method('Exact reverse KL(pS || pT) over the vocab (2)', reverseKlParams, () =>
    klMixObjective({ lambda: 1 }, 'reverse-kl'),
  ),
  'pw-opsd': method(
    'Position-weighted self-distillation with a per-vocab clipped forward-KL target (6)',
    pwOpsdParams,
    pwOpsdObjective,
  ),
  grpo: method('GRPO: clipped surrogate, group-normalised advantages, seq-mean-token-mean (3)', grpoParams, (p) =>
    policyGradientObjective('grpo', p),
  ),
  dapo: method('DAPO: clip-higher, token mean over the whole accumulated batch (3)', dapoParams, (p) =>
    policyGradientObjective('dapo', p),
  ),
  bnpo: method('BNPO: token mean over the local micro-batch (3)', grpoParams, (p) => policyGradientObjective('bnpo', p)),
  'dr-grpo': method('Dr.GRPO: no std scaling, sum / (B * T_max) (3)', drGrpoParams, (p) => policyGradientObjective('dr-grpo', p)),
  drpo: method('DRPO: length-weighted positives vs log-sum-exp over negatives, one-sided KL (9a)', drpoParams, drpoObjective),
} as const satisfies Record<string, MethodSpec<z.AnyZodObject, ObjectiveFn>>;

export const tokenSelectors = {
  'top-entropy': method('Gradient only through the top-rho fraction of tokens by entropy; denominator unchanged (5)', topEntropyParams, topEntropySelector),
  tip: method('TIP: entropy x divergence weighted token sampling, or Q3 / union quadrant rules (4)', tipParams, tipSelector),
} as const satisfies Record<string, MethodSpec<z.AnyZodObject, TokenSelectorFn>>;

export const entropyControls = {
  'clip-cov': method('Clip-Cov: drop a random few high-covariance tokens from the loss (7)', clipCovParams, clipCovControl),
  'kl-cov': method('KL-Cov: |lp - lpOld| penalty on the highest-covariance tokens (7)', klCovParams, klCovControl),
  siren: method('SIREN: anchored selective (top-p, peak-state) entropy regulariser (8a)', sirenParams, sirenControl),
  aepo: method('AEPO: temperature-switched regulariser rollouts injected with advantage 1 (8b)', aepoParams, aepoControl),
  entrocraft: method('Entrocraft: keep entropy in an annealed band by one-sided advantages (14)', entrocraftParams, entrocraftControl),
  ceeh: method('CEEH: difficulty-aware max-entropy loss or entropy advantage (9b)', ceehParams, ceehControl),
} as const satisfies Record<string, MethodSpec<z.AnyZodObject, EntropyControl>>;

export const rewardShapers = {
  pear: method('PEAR: penalise thinking-phase entropy above the answer phase (9d)', pearParams, pearShaper),
  'length-budget': method('Train-Long-Think-Short: correctness + triangular length reward under a budget + format (9c)', lengthBudgetParams, lengthBudgetShaper),
  overlong: method('DAPO overlong shaping: linear penalty in the last L_buf tokens before L_max (3.4)', overlongParams, overlongShaper),
} as const satisfies Record<string, MethodSpec<z.AnyZodObject, RewardShaperFn>>;

/** Every family, keyed as in a run config. */
export const methodRegistry = {
  objective: objectives,
  token_selector: tokenSelectors,
  entropy_control: entropyControls,
  reward_shaping: rewardShapers,
} as const;

export type MethodFamily = keyof typeof methodRegistry;
export type ObjectiveName = keyof typeof objectives;
export type TokenSelectorName = keyof typeof tokenSelectors;
export type EntropyControlName = keyof typeof entropyControls;
export type RewardShapingName = keyof typeof rewardShapers;

interface FamilyOutput {
  objective: ObjectiveFn;
  token_selector: TokenSelectorFn;
  entropy_control: EntropyControl;
  reward_shaping: RewardShaperFn;
}

/** A validated, built method. */
export interface CompiledMethod<F> {
  name: string;
  params: Record<string, unknown>;
  fn: F;
}

/**
 * Validates `params` for `family`/`name` and builds the method. Errors are RlmeshError(config) whose field is
 * `<path>.name` for an unknown method or `<path>.params.<key>` for a bad parameter.
 */
export function compileMethod<K extends MethodFamily>(
  family: K,
  name: string,
  params: unknown = {},
  path: string = family,
): CompiledMethod<FamilyOutput[K]> {
  const specs = methodRegistry[family] as unknown as Record<string, MethodSpec<z.AnyZodObject, FamilyOutput[K]>>;
  const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
  if (!spec) {
    throw new RlmeshError('config', `${path}.name: unknown ${family} '${name}' (known: ${Object.keys(specs).join(', ')})`, {
      field: `${path}.name`,
      details: { known: Object.keys(specs) },
    });
  }
  const parsed = spec.params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key =
      issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.length ? issue.path.join('.') : '';
    const field = key ? `${path}.params.${key}` : `${path}.params`;
    throw new RlmeshError('config', `${field}: ${issue.message} (method '${name}')`, {
      field,
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  try {
    return { name, params: parsed.data, fn: spec.build(parsed.data) };
  } catch (e) {
    if (e instanceof RlmeshError && e.field && !e.field.startsWith(path)) {
      const field = `${path}.params.${e.field}`;
      throw new RlmeshError('config', `${field}: ${e.message} (method '${name}')`, { field, cause: e });
    }
    throw e;
  }
}

export interface MethodListing {
  family: MethodFamily;
  name: string;
  summary: string;
  /** Parameter name -> default (null where the default is "unset"). */
  defaults: Record<string, unknown>;
}

/** Every method with its summary and defaults (for `rlmesh methods`). */
export function listMethods(): MethodListing[] {
  const out: MethodListing[] = [];
  for (const family of Object.keys(methodRegistry) as MethodFamily[]) {
    const specs = methodRegistry[family] as Record<string, MethodSpec<z.AnyZodObject, unknown>>;
    for (const [name, spec] of Object.entries(specs)) {
      out.push({ family, name, summary: spec.summary, defaults: spec.params.parse({}) as Record<string, unknown> });
    }
  }
  return out;
}
