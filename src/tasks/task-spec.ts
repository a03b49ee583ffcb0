// Converters between the domain `Task` and the wire shape of proto `rlmesh.v1.TaskSpec`, validating
// explicit specs a client sends (impossible parameters -> RlmeshError naming the field).
import { ErrorCategory, RlmeshError, invalidField } from '../errors.ts';
import { parseListAnswer, parseNumericAnswer } from './answer-equivalence.ts';
import { countdownParams } from './check-answer.ts';
import { ANSWER_KIND, DIFFICULTY_RANGE, isTaskCategory, isTaskSplit, type Task } from './task.ts';

/** Structurally identical to the generated `TaskSpec` (src/generated/rlmesh/v1/common.ts). */
export interface TaskSpecShape {
  taskId: string;
  category: string;
  difficulty: number;
  split: string;
  prompt: string;
  referenceSolution: string;
  answer: string;
  params: { [key: string]: string };
  seed: number;
  templateId: string;
}

/** Task param (tokens) that carries a per-task length budget into the verifier's `length` component and shapers. */
export const LENGTH_BUDGET_PARAM = 'length_budget';

export function toTaskSpec(task: Task): TaskSpecShape {
  return { ...task, params: { ...task.params } };
}

/** Validates a client-sent spec; `field` prefixes error paths (e.g. "items[3].task"). */
export function fromTaskSpec(spec: TaskSpecShape, field = 'task'): Task {
  if (!isTaskCategory(spec.category)) {
    throw new RlmeshError(ErrorCategory.notFound, `${field}.category: unknown task category "${String(spec.category).slice(0, 40)}"`, {
      field: `${field}.category`,
    });
  }
  const category = spec.category;
  const [lo, hi] = DIFFICULTY_RANGE[category];
  if (!Number.isInteger(spec.difficulty) || spec.difficulty < lo || spec.difficulty > hi) {
    throw invalidField(`${field}.difficulty`, `${spec.difficulty} out of range ${lo}-${hi} for ${category}`);
  }
  const split = spec.split === '' ? 'train' : spec.split;
  if (!isTaskSplit(split)) throw invalidField(`${field}.split`, `unknown split "${split}" (train | heldout)`);
  const kind = ANSWER_KIND[category];
  if (kind === 'expression') {
    const p = countdownParams(spec.params);
    if (!p) throw invalidField(`${field}.params`, 'countdown needs params numbers ("3,4,5", up to 16) and target (integer)');
    if (p.numbers.length !== spec.difficulty) {
      throw invalidField(`${field}.params.numbers`, `${p.numbers.length} numbers given but difficulty is ${spec.difficulty}`);
    }
  } else if (kind === 'list' ? parseListAnswer(spec.answer) === null : parseNumericAnswer(spec.answer) === null) {
    throw invalidField(`${field}.answer`, `"${spec.answer.slice(0, 40)}" is not a ${kind} answer`);
  }
  return {
    taskId: spec.taskId,
    category,
    difficulty: spec.difficulty,
    split,
    prompt: spec.prompt,
    referenceSolution: spec.referenceSolution,
    answer: spec.answer,
    params: { ...spec.params },
    seed: spec.seed,
    templateId: spec.templateId,
  };
}
