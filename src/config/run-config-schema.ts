// The run config a user writes (YAML/JSON), as a zod schema: flat sections, snake_case keys, `.strict()`
// everywhere, every field defaulted. Mode-dependent defaults (teacher, objective) are filled by compileRunConfig.
import { z } from 'zod';
import { RUN_MODES } from './modes.ts';
import { findSecret } from './secrets.ts';

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `run-<yyyymmdd>-<hhmmss>-<4 hex>` (UTC). */
export function generateRunId(now: Date = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
}

/** `{ name, params }` of one registered method; params are checked against the method's own schema later. */
export const methodChoice = z
  .object({
    /** Registered method name (see `npx rlmesh methods`). */
    name: z.string().min(1),
    /** Method parameters; unset ones take the method's defaults. Default {}. */
    params: z.record(z.unknown()).default({}),
  })
  .strict();

const modelDir = z.string().min(1);

export const studentSection = z
  .object({
    /** Checkpoint folder of the student (HF layout: config.json, model.safetensors, tokenizer.json). Default `models/student`. */
    model: modelDir.default('models/student'),
  })
  .strict();

export const teacherSection = z
  .object({
    /** Checkpoint folder of the teacher. Default `models/teacher` (`kind: privileged-self`: the student's folder). */
    model: modelDir.optional(),
    /** `separate`: another model; `privileged-self`: the student itself, prompted with the reference solution. Default `separate` (`privileged-self` in mode pw-opsd). */
    kind: z.enum(['separate', 'privileged-self']).optional(),
  })
  .strict();

export const tasksSection = z
  .object({
    /** Suite spec: `add:1-2`, `add:1-3,sort:3-5` or a named suite (`arithmetic`, `lists`, `countdown`, `chains`, `all`). Default `add:1-2`. */
    suite: z.string().min(1).default('add:1-2'),
    /** Held-out tasks generated for evaluation, tasks. Default 256. */
    heldout_size: z.number().int().min(1).max(10_000).default(256),
    /** Train tasks per (category, difficulty) arm the curriculum indexes into, tasks. Default 10000. */
    pool_size: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Prompt templates: `default` (each category's shortest) or `varied` (one per instance by seed). Default `default`. */
    template: z.enum(['default', 'varied']).default('default'),
  })
  .strict();

export const samplingSection = z
  .object({
    /** Sampling temperature, > 0 (1 = raw model distribution). Default 1.0. */
    temperature: z.number().gt(0).max(10).default(1.0),
    /** Top-k truncation, tokens; 0 = off. Default 0. */
    top_k: z.number().int().min(0).default(0),
    /** Nucleus mass, (0, 1]; 1 = off. Default 1.0. */
    top_p: z.number().gt(0).max(1).default(1.0),
    /** Completion length cap, tokens. Default 64 (built-in tasks' traces are ~60 characters). */
    max_new_tokens: z.number().int().min(1).max(32_768).default(64),
  })
  .strict();

export const rolloutSection = z
  .object({
    /** Rollout worker processes. Default 2. */
    workers: z.number().int().min(1).max(1024).default(2),
    /** Completions G sampled per task (one group). Default 8. */
    group_size: z.number().int().min(1).max(1024).default(8),
    sampling: samplingSection.default({}),
    /** Task dispatches (groups) in flight at once, groups. Default 16. */
    max_in_flight: z.number().int().min(1).max(100_000).default(16),
  })
  .strict();

export const learnerSection = z
  .object({
    /** Optimizer steps in the run. Default 200. */
    steps: z.number().int().min(1).default(200),
    /** Trajectories per step (a multiple of rollout.group_size). Default 64. */
    batch_size: z.number().int().min(1).default(64),
    /** AdamW learning rate. Default 3e-4 (tiny models; the spec's 1e-6 is for billion-parameter LLMs). */
    lr: z.number().gt(0).max(1).default(3e-4),
    /** Learning-rate schedule over the run's steps: constant, linear or cosine decay (after warmup). Default constant. */
    lr_schedule: z.enum(['constant', 'linear', 'cosine']).default('constant'),
    /** Linear warmup steps from 0 to lr. Default 0. */
    warmup_steps: z.number().int().min(0).default(0),
    /** Floor of the decay as a fraction of lr, [0, 1]. Default 0. */
    min_lr_ratio: z.number().min(0).max(1).default(0),
    /** AdamW decoupled weight decay. Default 0. */
    weight_decay: z.number().min(0).max(1).default(0),
    /** AdamW [beta1, beta2], each in [0, 1). Default [0.9, 0.999]. */
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    /** AdamW epsilon. Default 1e-8. */
    eps: z.number().gt(0).default(1e-8),
    /** Global gradient-norm clip; 0 = off. Default 1.0. */
    grad_clip: z.number().min(0).default(1.0),
    /** Oldest policy version lag accepted for a trajectory, versions. Default 1. */
    max_staleness: z.number().int().min(0).default(1),
    /** Save a checkpoint every N steps; 0 = only at the end. Default 50. */
    checkpoint_every: z.number().int().min(0).default(50),
    /** Publish weights to rollout workers every N steps. Default 1. */
    publish_every: z.number().int().min(1).default(1),
  })
  .strict();

export const rewardSection = z
  .object({
    /** Weight per verifier component; total = sum weight * component. Defaults: correctness 1, format 0.1, length 0, overlong 1. */
    weights: z
      .object({
        correctness: z.number().min(0).default(1),
        format: z.number().min(0).default(0.1),
        length: z.number().min(0).default(0),
        overlong: z.number().min(0).default(1),
      })
      .strict()
      .default({}),
  })
  .strict();

export const curriculumSection = z
  .object({
    /** Task sampler: uniform, sec, dump, cures, h1-horizon. Default `uniform`. */
    name: z.string().min(1).default('uniform'),
    /** Sampler parameters. Default {}. */
    params: z.record(z.unknown()).default({}),
    /** Layers applied on top: tlts-budget, entropy-gated-length, template-augment. Default []. */
    layers: z.array(methodChoice).max(8).default([]),
  })
  .strict();

export const evalSection = z
  .object({
    /** Held-out tasks per evaluation (<= tasks.heldout_size), tasks. Default 128. */
    heldout_size: z.number().int().min(1).max(10_000).default(128),
    /** Samples per task for pass@k / Avg@k. Default 4. */
    k: z.number().int().min(1).max(256).default(4),
    /** Evaluate every N learner steps; 0 = only at the end. Default 50. */
    every: z.number().int().min(0).default(50),
  })
  .strict();

export const natsSection = z
  .object({
    /** JetStream ack wait before redelivery, ms. Default 60000. */
    ack_wait_ms: z.number().int().min(100).max(86_400_000).default(60_000),
    /** Deliveries before a message goes to the dead-letter stream. Default 5. */
    max_deliver: z.number().int().min(1).max(1000).default(5),
    /**
     * Copies JetStream keeps of the run's streams and weights bucket: 3 on a NATS cluster of 3 or more servers keeps a
     * run going through the loss of one; more than 1 needs a clustered NATS. 1..5 (JetStream's maximum). Default 1.
     */
    replicas: z.number().int().min(1).max(5).default(1),
  })
  .strict();

export const runConfigObject = z
  .object({
    /** Run id `[A-Za-z0-9_-]{1,64}` (names NATS subjects and streams). Default generated `run-<utc time>-<hex>`. */
    run_id: z.string().regex(RUN_ID, 'must match [A-Za-z0-9_-]{1,64}').default(() => generateRunId()),
    /** opd | rlvr | opd+rlvr | sft | dagger | kl-mix | pw-opsd. Default `opd`. */
    mode: z.enum(RUN_MODES).default('opd'),
    /** Seed of task sampling, curricula and rollout sampling. Default 0. */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    student: studentSection.default({}),
    /** Teacher; default per mode (`models/teacher`, or none in mode rlvr). `null` = no teacher. */
    teacher: teacherSection.nullable().optional(),
    tasks: tasksSection.default({}),
    rollout: rolloutSection.default({}),
    learner: learnerSection.default({}),
    /** The loss; default per mode (opd: opd-reverse-kl, rlvr: grpo, sft/dagger: forward-kl, ...). */
    objective: methodChoice.optional(),
    /** Token selector (top-entropy, tip); default none. */
    token_selector: methodChoice.nullable().default(null),
    /** Entropy control (clip-cov, kl-cov, siren, aepo, entrocraft, ceeh); default none. */
    entropy_control: methodChoice.nullable().default(null),
    /** Reward shapers (pear, length-budget, overlong), applied in order; default []. RL modes only. */
    reward_shaping: z.array(methodChoice).max(8).default([]),
    reward: rewardSection.default({}),
    curriculum: curriculumSection.default({}),
    /** Group filter before a learner step (dapo-dynamic-sampling); default none. RL modes only. Applied by the in-process loop and the distributed learner alike. */
    batch_filter: methodChoice.nullable().default(null),
    eval: evalSection.default({}),
    nats: natsSection.default({}),
    /** Stop early when held-out accuracy reaches this, (0, 1]; default none. */
    target_accuracy: z.number().gt(0).max(1).nullable().default(null),
  })
  .strict();

/**
 * The schema to hand a file loader: refuses secret-looking keys/values first (with a message pointing at the
 * env vars), then validates `runConfigObject`. Mode defaults and methods are applied by compileRunConfig.
 */
export const runConfigSchema = z
  .unknown()
  .superRefine((raw, ctx) => {
    const hit = findSecret(raw);
    if (hit) ctx.addIssue({ code: z.ZodIssueCode.custom, path: hit.path, message: hit.message, fatal: true });
  })
  .pipe(runConfigObject);

/** What a user writes (every field optional). */
export type RunConfigOptions = z.input<typeof runConfigObject>;
/** After schema defaults, before mode defaults. */
export type ParsedRunConfig = z.output<typeof runConfigObject>;
export type MethodChoiceConfig = z.output<typeof methodChoice>;
