// Domain types shared by every curriculum: the task pool (arms), picks, feedback, controls and saved state.

/** One arm of the task pool: every task of one (category, difficulty), `size` of them (indices 0..size-1). */
export interface Arm {
  category: string;
  difficulty: number;
  /** Number of train tasks in this arm. Arms with size 0 are never selected. */
  size: number;
}

/** What a sampler hands the controller: which task to dispatch, and optional per-pick overrides. */
export interface TaskPick {
  category: string;
  difficulty: number;
  /** Index of the task inside its arm, in [0, arm.size). The task layer maps it to a task id. */
  index: number;
  /** Prompt-template variant to render (set by the `template-augment` layer). */
  templateIndex?: number;
  /** Rollouts to sample for this pick (set by CurES when it allocates a rollout budget). */
  groupSize?: number;
}

/** Per-task learning signal (the domain form of proto `TaskFeedback`). */
export interface CurriculumFeedback {
  category: string;
  difficulty: number;
  /** Arm-local task index as dispatched (needed by per-prompt curricula such as CurES). */
  index?: number;
  taskId?: string;
  /** Learner step that produced it. */
  step?: number;
  /** Rollouts behind these numbers (>= 1). */
  samples: number;
  /** Fraction of correct rollouts, [0, 1]. */
  passRate: number;
  /** Mean over rollouts of |advantage| (token-mean per rollout), >= 0. */
  meanAbsAdvantage: number;
  meanReward?: number;
}

/** Extra per-step signals besides task feedback. */
export interface CurriculumSignal {
  /** Learner step this update belongs to; defaults to the previous step + 1. */
  step?: number;
  /** Mean per-token predictive entropy on the held-out set, nats (entropy-gated length curriculum). */
  heldoutEntropy?: number;
}

/** Knobs a curriculum sets for the rollout side besides task choice. */
export interface CurriculumControls {
  /** Completion length cap, tokens. */
  maxNewTokens?: number;
  /** Length budget for the length reward / prompt, tokens (Train-Long-Think-Short). */
  lengthBudget?: number;
  /** True when the curriculum wants a held-out entropy measurement passed with the next update. */
  needsHeldoutEntropy?: boolean;
}

/** Sampling probability of one arm (or arm group) under the current curriculum state. */
export interface ArmProbability {
  key: string;
  probability: number;
}

/** JSON-safe value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Saved state of one curriculum part: enough to rebuild it and continue identically. */
export interface CurriculumPartState {
  name: string;
  params: Record<string, Json>;
  data: Json;
}

/** Saved state of a whole (composed) curriculum. */
export interface CurriculumState {
  version: 1;
  seed: number;
  pool: Arm[];
  totalSteps: number;
  step: number;
  sampler: CurriculumPartState;
  layers: CurriculumPartState[];
}

/** Common surface of samplers and layers. */
export interface CurriculumPart {
  readonly name: string;
  update(feedback: readonly CurriculumFeedback[], step: number, signal: CurriculumSignal): void;
  controls(step: number): CurriculumControls;
  state(): CurriculumPartState;
}

/** Chooses tasks. */
export interface TaskSampler extends CurriculumPart {
  next(n: number, step: number): TaskPick[];
  probabilities(): ArmProbability[];
}

/** Decorates a sampler's picks (templates) or only sets controls (length schedules). */
export interface CurriculumLayer extends CurriculumPart {
  decorate(picks: TaskPick[], step: number): TaskPick[];
}

/** What the controller holds: a sampler plus layers, one seed, one step counter. */
export interface Curriculum {
  readonly name: string;
  readonly step: number;
  next(n: number): TaskPick[];
  update(feedback: readonly CurriculumFeedback[], signal?: CurriculumSignal): void;
  controls(): CurriculumControls;
  probabilities(): ArmProbability[];
  state(): CurriculumState;
}
