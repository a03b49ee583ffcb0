// Deterministic task instances: (category, difficulty, split, index, template) -> Task, task ids, and the
// train / held-out split decided by a hash of the canonical problem so one problem never lands in both.
import { ErrorCategory, RlmeshError, invalidField } from '../errors.ts';
import { addGenerator, mulGenerator, subGenerator } from './arithmetic.ts';
import { chainGenerator } from './chains.ts';
import { countdownGenerator } from './countdown.ts';
import { countGenerator, maxGenerator, reverseGenerator, sortGenerator } from './lists.ts';
import { referenceTrace, renderTemplate, type CategoryGenerator } from './problem.ts';
import { Rng, hash32 } from './random.ts';
import { DIFFICULTY_RANGE, isTaskCategory, type Task, type TaskCategory, type TaskSplit } from './task.ts';

/** Percentage of the problem space that is held out (by hash of the canonical problem). */
export const HELDOUT_PERCENT = 20;
/** Candidate draws per instance before giving up; a split of a non-empty space fails with p < 0.8^200. */
const MAX_ATTEMPTS = 200;
const MAX_INDEX = 0xffffffff;

const GENERATORS: Readonly<Record<TaskCategory, CategoryGenerator>> = {
  add: addGenerator,
  sub: subGenerator,
  mul: mulGenerator,
  chain: chainGenerator,
  sort: sortGenerator,
  reverse: reverseGenerator,
  count: countGenerator,
  max: maxGenerator,
  countdown: countdownGenerator,
};

export interface TaskRef {
  category: TaskCategory;
  difficulty: number;
  split: TaskSplit;
  /** position in the infinite instance stream of (category, difficulty, split) */
  index: number;
  /** prompt template; 0 (the short default) when omitted */
  template?: number;
}

/** Which split a canonical problem belongs to. */
export function splitOfProblem(key: string): TaskSplit {
  return hash32(`split:${key}`) % 100 < HELDOUT_PERCENT ? 'heldout' : 'train';
}

export function templateCount(category: TaskCategory): number {
  return GENERATORS[category].templates.length;
}

export function formatTaskId(ref: TaskRef): string {
  const t = ref.template ?? 0;
  return `${ref.category}/d${ref.difficulty}/${ref.split}/${ref.index}${t ? `/t${t}` : ''}`;
}

const ID_PATTERN = /^([a-z]{1,16})\/d(\d{1,3})\/([a-z]{1,16})\/(\d{1,10})(?:\/t(\d{1,2}))?$/;

/** Parses and validates a task id; throws RlmeshError naming `field`. */
export function parseTaskId(id: string, field = 'task_id'): TaskRef {
  const m = ID_PATTERN.exec(id);
  if (!m) throw invalidField(field, `malformed task id "${id.slice(0, 80)}" (expected e.g. "add/d3/train/42")`);
  const [, category, d, split, index, t] = m;
  if (!isTaskCategory(category!)) {
    throw new RlmeshError(ErrorCategory.notFound, `${field}: unknown task category "${category}"`, { field, details: { id } });
  }
  if (split !== 'train' && split !== 'heldout') throw invalidField(field, `unknown split "${split}" (train | heldout)`);
  const ref: TaskRef = { category, difficulty: Number(d), split, index: Number(index), template: t === undefined ? 0 : Number(t) };
  validateRef(ref, field);
  return ref;
}

function validateRef(ref: TaskRef, field: string): void {
  const [lo, hi] = DIFFICULTY_RANGE[ref.category];
  if (!Number.isInteger(ref.difficulty) || ref.difficulty < lo || ref.difficulty > hi) {
    throw invalidField(field, `difficulty ${ref.difficulty} out of range ${lo}-${hi} for ${ref.category}`);
  }
  if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index > MAX_INDEX) {
    throw invalidField(field, `index ${ref.index} out of range 0-${MAX_INDEX}`);
  }
  const t = ref.template ?? 0;
  if (!Number.isInteger(t) || t < 0 || t >= templateCount(ref.category)) {
    throw invalidField(field, `template ${t} out of range 0-${templateCount(ref.category) - 1} for ${ref.category}`);
  }
}

/** Builds the instance a reference names. Same ref, same task, on every machine. */
export function generateTask(ref: TaskRef, field = 'task'): Task {
  validateRef(ref, field);
  const gen = GENERATORS[ref.category];
  const stream = `${ref.category}/d${ref.difficulty}/${ref.split}/${ref.index}`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const seed = hash32(`${stream}#${attempt}`);
    const problem = gen.generate(ref.difficulty, new Rng(seed));
    if (splitOfProblem(problem.key) !== ref.split) continue;
    const template = ref.template ?? 0;
    return {
      taskId: formatTaskId(ref),
      category: ref.category,
      difficulty: ref.difficulty,
      split: ref.split,
      prompt: renderTemplate(gen.templates[template]!, problem.fields),
      referenceSolution: referenceTrace(problem.think, problem.answer),
      answer: problem.answer,
      params: problem.params,
      seed,
      templateId: `${ref.category}.t${template}`,
    };
  }
  throw invalidField(field, `no ${ref.split} instance of ${ref.category} at difficulty ${ref.difficulty} (problem space too small)`);
}

/** Regenerates the task an id names (what the verifier does with a bare task id). */
export function taskFromId(id: string, field = 'task_id'): Task {
  return generateTask(parseTaskId(id, field), field);
}
