// Converters between the domain `Task` and the wire shape of proto `rlmesh.v1.TaskSpec`, validating
// explicit specs a client sends (impossible parameters -> RlmeshError naming the field).
import { ErrorCategory, RlmeshError, invalidField } from '../errors.ts';
import { parseListAnswer, parseNumericAnswer } from './answer-equivalence.ts';
import { countdownParams } from './check-answer.ts';
import { ANSWER_KIND, DIFFICULTY_RANGE, isTaskCategory, isTaskSplit, type Task } from './task.ts';
import { toNumber, type Rational } from './rational.ts';

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

/**
 * A spec carrying a length budget (the tlts-budget curriculum's): its prompt states the budget, as Train-Long-Think-
 * Short prompts do (ALGORITHMS.md 9c), and its params carry it to the verifier's length reward. Unchanged without one.
 */
export function withLengthBudget(spec: TaskSpecShape, budget: number | undefined): TaskSpecShape {
  if (budget === undefined) return spec;
  return { ...spec, prompt: `${spec.prompt} (use exactly ${budget} tokens)`, params: { ...spec.params, [LENGTH_BUDGET_PARAM]: String(budget) } };
}

export function toTaskSpec(task: Task): TaskSpecShape {
  return { ...task, params: { ...task.params } };
}

/** A spec's answer is graded against every completion: bounded so one spec cannot cost minutes per item. */
const MAX_ANSWER_CHARS = 4096;

/**
 * A list task whose answer cannot be its list's (the answer every completion is graded against): sort and reverse
 * answers have `difficulty` items, a sort answer is ascending, a count lies in 0..difficulty; with params.list given,
 * the answer must be what the task asks of it. Returns [field, message] or null.
 */
function listTaskProblem(
  category: string, difficulty: number, parsed: Rational | Rational[], answer: string, params: Readonly<Record<string, string>>,
): [string, string] | null {
  if (category !== 'sort' && category !== 'reverse' && category !== 'count' && category !== 'max') return null;
  const list = params.list === undefined ? null : parseListAnswer(params.list)?.map(toNumber) ?? null;
  if (params.list !== undefined && (list === null || list.length !== difficulty)) return ['params.list', `must be ${difficulty} numbers (the difficulty), got "${params.list.slice(0, 40)}"`];
  if (category === 'count') {
    const n = toNumber(parsed as Rational);
    return Number.isInteger(n) && n >= 0 && n <= difficulty ? null : ['answer', `a count in a list of ${difficulty} must be an integer in 0..${difficulty}, got ${answer.slice(0, 40)}`];
  }
  if (category === 'max') {
    const m = toNumber(parsed as Rational);
    return list && m !== Math.max(...list) ? ['answer', `the max of ${params.list} is ${Math.max(...list)}, not ${answer.slice(0, 40)}`] : null;
  }
  const items = (parsed as Rational[]).map(toNumber);
  if (items.length !== difficulty) return ['answer', `${items.length} items, but the list has ${difficulty} (the difficulty)`];
  const expected = list && (category === 'sort' ? list.slice().sort((a, b) => a - b) : list.slice().reverse());
  if (expected && expected.some((x, i) => x !== items[i])) return ['answer', `is not the ${category === 'sort' ? 'sorted' : 'reversed'} params.list (${expected.join(',')})`];
  if (category === 'sort' && items.some((x, i) => i > 0 && x < items[i - 1]!)) return ['answer', 'a sort answer must be ascending'];
  return null;
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
  } else {
    if (spec.answer.length > MAX_ANSWER_CHARS) throw invalidField(`${field}.answer`, `${spec.answer.length} characters; at most ${MAX_ANSWER_CHARS}`);
    const parsed = kind === 'list' ? parseListAnswer(spec.answer) : parseNumericAnswer(spec.answer);
    if (parsed === null) throw invalidField(`${field}.answer`, `"${spec.answer.slice(0, 40)}" is not a ${kind} answer`);
    const problem = listTaskProblem(category, spec.difficulty, parsed, spec.answer, spec.params);
    if (problem) throw invalidField(`${field}.${problem[0]}`, problem[1]);
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
