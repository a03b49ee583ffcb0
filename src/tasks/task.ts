// Domain types of the verifiable task suite: categories, splits, instances and their difficulty ranges.

export const TaskCategory = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  chain: 'chain',
  sort: 'sort',
  reverse: 'reverse',
  count: 'count',
  max: 'max',
  countdown: 'countdown',
} as const;
export type TaskCategory = (typeof TaskCategory)[keyof typeof TaskCategory];

export const TASK_CATEGORIES: readonly TaskCategory[] = Object.values(TaskCategory);

export const TaskSplit = { train: 'train', heldout: 'heldout' } as const;
export type TaskSplit = (typeof TaskSplit)[keyof typeof TaskSplit];

/** How the final answer of a category is compared. */
export type AnswerKind = 'number' | 'list' | 'expression';

/** One generated, verifiable task instance. Field names follow proto `rlmesh.v1.TaskSpec`. */
export interface Task {
  /** "<category>/d<difficulty>/<split>/<index>" plus "/t<k>" when template k != 0; `taskFromId` regenerates it. */
  taskId: string;
  category: TaskCategory;
  /** digits (add/sub/mul), steps k (chain), list length (lists), how many numbers (countdown) */
  difficulty: number;
  split: TaskSplit;
  prompt: string;
  /** "<think>...</think><answer>...</answer>" */
  referenceSolution: string;
  /** canonical final answer; for countdown one valid expression (any correct one is accepted) */
  answer: string;
  params: Record<string, string>;
  /** generator seed of this instance (unsigned 32-bit) */
  seed: number;
  /** e.g. "add.t0" */
  templateId: string;
}

/** Inclusive difficulty range accepted by each category's generator. */
export const DIFFICULTY_RANGE: Readonly<Record<TaskCategory, readonly [number, number]>> = {
  add: [1, 12],
  sub: [1, 12],
  mul: [1, 6],
  chain: [1, 16],
  sort: [2, 16],
  reverse: [2, 16],
  count: [2, 16],
  max: [2, 16],
  countdown: [2, 6],
};

export const ANSWER_KIND: Readonly<Record<TaskCategory, AnswerKind>> = {
  add: 'number',
  sub: 'number',
  mul: 'number',
  chain: 'number',
  sort: 'list',
  reverse: 'list',
  count: 'number',
  max: 'number',
  countdown: 'expression',
};

export function isTaskCategory(value: string): value is TaskCategory {
  return (TASK_CATEGORIES as readonly string[]).includes(value);
}

export function isTaskSplit(value: string): value is TaskSplit {
  return value === 'train' || value === 'heldout';
}
