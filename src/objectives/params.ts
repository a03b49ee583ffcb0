// Zod parameter schemas (defaults and ranges from ALGORITHMS.md) for every method the registry names.
import { z } from 'zod';

const unit = () => z.number().min(0).max(1);
const nonNeg = () => z.number().min(0);
const seed = () => z.number().int().min(0).default(0);

// ---- objectives -------------------------------------------------------------------------------------

/** 1a: Thinking Machines OPD (per-token sampled reverse KL as a dense advantage). */
export const opdParams = z
  .object({
    /** lambda_kl: scale of the reverse-KL advantage (default 1.0). */
    kl_coef: nonNeg().default(1.0),
    /** gamma: discount crediting future KL back to earlier tokens (0 = none). */
    discount: unit().default(0.0),
    /** Add the group-centred env reward (R - mean_g R, no std) to the advantage (step 4). */
    with_env_reward: z.boolean().default(false),
    /** 'sum' (reference: plain sum) or 'token-mean' over valid tokens. */
    reduction: z.enum(['sum', 'token-mean']).default('sum'),
  })
  .strict();

/** 1b: TRL GKD generalized JSD. */
export const gkdParams = z
  .object({
    /** Teacher weight in the mixture; 0 = forward KL(pT||pS), 1 = reverse KL(pS||pT). */
    beta: unit().default(0.5),
    /** Probability that a step trains on fresh student samples (data source, read by the rollout planner). */
    lmbda: unit().default(0.5),
    /** Off-policy steps use teacher samples instead of dataset completions. */
    seq_kd: z.boolean().default(false),
  })
  .strict();

/** 2: prefix source x KL direction; L = lambda * reverse + (1 - lambda) * forward. */
export const klMixParams = z
  .object({
    /** Weight of reverse KL (1 = pure reverse, 0 = pure forward). Derived default 0.25. */
    lambda: unit().default(0.25),
    /** Where the states come from (read by the rollout planner; the loss is the same). */
    prefix_source: z.enum(['student', 'teacher']).default('student'),
  })
  .strict();

export const forwardKlParams = z.object({ prefix_source: z.enum(['student', 'teacher']).default('teacher') }).strict();
export const reverseKlParams = z.object({ prefix_source: z.enum(['student', 'teacher']).default('student') }).strict();

/** 6: PW-OPSD. */
export const pwOpsdParams = z
  .object({
    /** 0 = forward KL (default), 0<beta<1 generalized JSD, 1 = reverse KL. */
    beta: unit().default(0),
    /** kappa: per-vocab clip of each forward-KL contribution (0 disables). */
    token_clip: nonNeg().default(0.05),
    w_min: unit().default(0.25),
    tau: unit().default(0.3),
    /** Sigmoid width s (> 0). */
    s: z.number().positive().default(0.1),
    /** Per-sequence mean then mean over sequences (paper), or global token mean (ablation). */
    reduction: z.enum(['seq-mean', 'token-mean']).default('seq-mean'),
    /** Disable position weights (plain OPSD). */
    position_weights: z.boolean().default(true),
  })
  .strict();

/** 3: GRPO family (shared by grpo / dapo / bnpo / dr-grpo; defaults differ per name, see registry). */
export function policyGradientParams(defaults: {
  eps_high: number;
  scale_rewards: 'group' | 'batch' | 'none';
}) {
  return z
    .object({
      /** Lower clip: ratio >= 1 - eps_low. */
      eps_low: z.number().min(0).max(1).default(0.2),
      /** Upper clip: ratio <= 1 + eps_high (clip-higher when > eps_low). */
      eps_high: nonNeg().default(defaults.eps_high),
      /** Dual clip constant c (> 1) for A < 0; null disables. */
      dual_clip: z.number().gt(1).nullable().default(3.0),
      /** beta of the k3 KL to the reference (0 = off, needs referenceLogprobs otherwise). */
      kl_coef: nonNeg().default(0),
      /** Entropy bonus coefficient (needs entropies or full student log-probs). */
      entropy_coef: nonNeg().default(0),
      /** Advantage std scaling: per group, whole batch, or none (Dr.GRPO). */
      scale_rewards: z.enum(['group', 'batch', 'none']).default(defaults.scale_rewards),
      /** eps added to the std (TRL 1e-4). */
      adv_eps: z.number().positive().default(1e-4),
      /** Token-level ratio or the sequence-level variant. */
      importance_level: z.enum(['token', 'sequence']).default('token'),
      /** T_max for Dr.GRPO's SEQ_SUM_NORM (tokens); null = rollout.sampling.max_new_tokens in a run (the batch's padded T when called alone). */
      max_completion_length: z.number().int().positive().nullable().default(null),
      /** OPD reward added to the advantages (1a step 4): lambda_kl (0 = off; needs teacherLogprobs). */
      opd_kl_coef: nonNeg().default(0),
      /** Discount of that OPD term. */
      opd_discount: unit().default(0),
    })
    .strict();
}

/** 9a: DRPO. */
export const drpoParams = z
  .object({
    /** Length preference temperature lambda (> 0; Infinity = no length preference). */
    lambda: z.number().positive().default(0.1),
    /** Log-sum-exp temperature over negatives. */
    tau: z.number().positive().default(10),
    /** KL threshold delta above which the one-sided penalty turns on. */
    delta: nonNeg().default(1e-4),
    /** Penalty scale beta. */
    beta: nonNeg().default(1e3),
    /** L_max (tokens). */
    max_length: z.number().int().positive().default(8192),
  })
  .strict();

// ---- token selectors --------------------------------------------------------------------------------

/** 5: gradient only through the top-rho fraction of tokens by entropy (denominator unchanged). */
export const topEntropyParams = z
  .object({
    /** Fraction kept (1.0 = off, 0.0 = max-entropy token(s) only). */
    rho: unit().default(0.2),
  })
  .strict();

/** 4: TIP. */
export const tipParams = z
  .object({
    /** 'weighted' sampling, 'q3' (confident and wrong), or 'union' (top-ratio entropy + Q3). */
    rule: z.enum(['weighted', 'q3', 'union']).default('weighted'),
    /** r: fraction of valid tokens drawn / kept (weighted and union rules). */
    ratio: z.number().gt(0).max(1).default(0.5),
    /** Entropy exponent. */
    alpha: nonNeg().default(1),
    /** Divergence exponent (0 = entropy only). */
    gamma: nonNeg().default(0),
    /** Thresholds on normalised entropy / divergence; null = batch median over valid tokens. */
    tau_h: unit().nullable().default(null),
    tau_d: unit().nullable().default(null),
    seed: seed(),
  })
  .strict();

// ---- entropy control --------------------------------------------------------------------------------

/** 7: Clip-Cov. */
export const clipCovParams = z
  .object({
    ratio: unit().default(2e-4),
    lb: z.number().default(1.0),
    ub: z.number().default(5.0),
    seed: seed(),
  })
  .strict();

/** 7: KL-Cov. */
export const klCovParams = z
  .object({
    /** f: fraction of valid tokens (largest covariance) that get the KL penalty; at least one token. */
    fraction: unit().default(0.002),
    /** beta_kl. */
    kl_coef: nonNeg().default(1),
  })
  .strict();

/** 8a: SIREN. */
export const sirenParams = z
  .object({
    lambda: nonNeg().default(0.005),
    /** Per-response quantile above which tokens are kept. */
    mask_quantile: unit().default(0.8),
    /** p_ent: top-p mass of the action subset. */
    top_p: z.number().gt(0).max(1).default(0.8),
    top_k: z.number().int().positive().default(10000),
    /** Fixed anchor; null = measure on the first batch and keep it. */
    anchor: nonNeg().nullable().default(null),
  })
  .strict();

/** 8b: AEPO (batch construction plan). */
export const aepoParams = z
  .object({
    target_entropy: nonNeg().default(0.5),
    t_high: z.number().positive().default(1.2),
    t_low: z.number().positive().default(0.8),
    /** K: most regulariser rollouts injected per step. */
    max_samples: z.number().int().min(0).default(60),
    /** Rollouts with advantage above this are kept (and get advantage 1). */
    adv_threshold: z.number().default(0.05),
  })
  .strict();

/** 14: Entrocraft. */
export const entrocraftParams = z
  .object({
    lo_start: nonNeg().default(0.6),
    lo_end: nonNeg().default(0.4),
    hi_start: nonNeg().default(0.7),
    hi_end: nonNeg().default(0.5),
    total_steps: z.number().int().positive().default(1000),
    schedule: z.enum(['linear', 'cosine']).default('linear'),
  })
  .strict(); // lo <= hi at both ends is checked when the method is built

/** 9b: CEEH. */
export const ceehParams = z
  .object({
    /** 'me' max-entropy loss, 'ea' entropy advantage (hard questions). */
    mode: z.enum(['me', 'ea']).default('me'),
    lambda0: nonNeg().default(1e-3),
    hard_multiplier: nonNeg().default(5),
    total_steps: z.number().int().positive().default(1000),
    alpha: nonNeg().default(0.4),
    kappa: z.number().gt(1).default(2),
    /** beta of the optimal-length penalty on correct answers (0 = off). */
    length_beta: nonNeg().default(0.1),
  })
  .strict();

// ---- reward shaping ---------------------------------------------------------------------------------

/** 9d: PEAR. */
export const pearParams = z
  .object({
    alpha: z.number().default(1),
    s: z.number().default(1.0),
    r_fmt: z.number().default(0.0),
  })
  .strict();

/** 9c: Train-Long-Think-Short reward (the budget per sample comes from the curriculum's schedule). */
export const lengthBudgetParams = z
  .object({
    lc: nonNeg().default(0.6),
    ll: nonNeg().default(0.3),
    lf: nonNeg().default(0.1),
    r_cor: z.number().default(1),
    r_max: z.number().default(1),
    a_think: nonNeg().default(0.5),
    a_ans: nonNeg().default(0.5),
    variant: z.enum(['triangular', 'band']).default('triangular'),
  })
  .strict();

/** 3.4: DAPO overlong shaping. */
export const overlongParams = z
  .object({
    max_length: z.number().int().positive().default(20480),
    buffer: z.number().int().positive().default(4096),
    kappa: nonNeg().default(1.0),
  })
  .strict(); // buffer <= max_length is checked when the method is built

export type OpdParams = z.infer<typeof opdParams>;
export type GkdParams = z.infer<typeof gkdParams>;
export type KlMixParams = z.infer<typeof klMixParams>;
export type PwOpsdParams = z.infer<typeof pwOpsdParams>;
export type PolicyGradientParams = z.infer<ReturnType<typeof policyGradientParams>>;
export type DrpoParams = z.infer<typeof drpoParams>;
export type TopEntropyParams = z.infer<typeof topEntropyParams>;
export type TipParams = z.infer<typeof tipParams>;
export type ClipCovParams = z.infer<typeof clipCovParams>;
export type KlCovParams = z.infer<typeof klCovParams>;
export type SirenParams = z.infer<typeof sirenParams>;
export type AepoParams = z.infer<typeof aepoParams>;
export type EntrocraftParams = z.infer<typeof entrocraftParams>;
export type CeehParams = z.infer<typeof ceehParams>;
export type PearParams = z.infer<typeof pearParams>;
export type LengthBudgetParams = z.infer<typeof lengthBudgetParams>;
export type OverlongParams = z.infer<typeof overlongParams>;
