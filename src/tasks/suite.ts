// Suite specs ("add:1-3,sub:1-2,sort:3-5" or named: arithmetic, lists, countdown, chains, all) and
// deterministic task listing from a suite, split and seed.
import { invalidField } from '../errors.ts';
import { generateTask, templateCount } from './generate.ts';
import { hash32 } from './random.ts';
import { DIFFICULTY_RANGE, isTaskCategory, isTaskSplit, type Task, type TaskCategory, type TaskSplit } from './task.ts';

export interface SuiteEntry {
  category: TaskCategory;
  difficulty: number;
}

export const NAMED_SUITES: Readonly<Record<string, string>> = {
  arithmetic: 'add:1-3,sub:1-3,mul:1-2',
  lists: 'sort:3-5,reverse:3-5,count:3-5,max:3-5',
  countdown: 'countdown:3-4',
  chains: 'chain:1-4',
  all: 'arithmetic,lists,countdown,chains',
};

const PART = /^([a-z]+)(?::(\d{1,3})(?:-(\d{1,3}))?)?$/;

/** Expands a suite spec into (category, difficulty) pairs, in order, without duplicates. */
export function parseSuiteSpec(spec: string, field = 'suite', depth = 0): SuiteEntry[] {
  const parts = spec.split(',').map((p) => p.trim());
  if (spec.trim() === '') throw invalidField(field, `empty suite (e.g. "arithmetic" or "add:1-3,sort:3-5")`);
  const out: SuiteEntry[] = [];
  const seen = new Set<string>();
  parts.forEach((part, i) => {
    const where = `part ${i + 1} "${part.slice(0, 40)}"`;
    const m = PART.exec(part);
    if (!m) throw invalidField(field, `${where}: expected <category>:<lo>-<hi>, <category>:<n> or a suite name`);
    const [, name, lo, hi] = m;
    let entries: SuiteEntry[];
    if (lo === undefined && Object.hasOwn(NAMED_SUITES, name!) && depth < 2) {
      entries = parseSuiteSpec(NAMED_SUITES[name!]!, field, depth + 1);
    } else if (isTaskCategory(name!)) {
      const [min, max] = DIFFICULTY_RANGE[name];
      const from = lo === undefined ? min : Number(lo);
      const to = hi === undefined ? (lo === undefined ? max : from) : Number(hi);
      if (from > to) throw invalidField(field, `${where}: range ${from}-${to} is empty`);
      if (from < min || to > max) throw invalidField(field, `${where}: ${name} difficulty must be within ${min}-${max}`);
      entries = [];
      for (let d = from; d <= to; d++) entries.push({ category: name, difficulty: d });
    } else {
      const names = [...Object.keys(NAMED_SUITES)].join(', ');
      throw invalidField(field, `${where}: unknown category or suite "${name}" (suites: ${names})`);
    }
    for (const e of entries) {
      const key = `${e.category}:${e.difficulty}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(e);
      }
    }
  });
  return out;
}

export interface ListTasksOptions {
  suite: string;
  /** default "train" */
  split?: string;
  /** 1..10000 */
  limit: number;
  /** different seeds list different instances; default 0 */
  seed?: number;
  /** "default": the short template 0 only; "varied": a template per instance */
  templates?: 'default' | 'varied';
}

export const MAX_LIST_LIMIT = 10000;

/** Lists `limit` tasks, round-robin over the suite's (category, difficulty) entries. Deterministic. */
export function listTasks(options: ListTasksOptions): Task[] {
  const entries = parseSuiteSpec(options.suite);
  const split = options.split === undefined || options.split === '' ? 'train' : options.split;
  if (!isTaskSplit(split)) throw invalidField('split', `unknown split "${split.slice(0, 40)}" (train | heldout)`);
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > MAX_LIST_LIMIT) {
    throw invalidField('limit', `must be an integer in 1-${MAX_LIST_LIMIT}, got ${options.limit}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidField('seed', `must be a non-negative integer, got ${seed}`);
  const offsets = entries.map((e) => hash32(`list:${seed}:${e.category}:${e.difficulty}`));
  const out: Task[] = [];
  for (let j = 0; j < options.limit; j++) {
    const e = entries[j % entries.length]!;
    const index = (offsets[j % entries.length]! + Math.floor(j / entries.length)) % 0x100000000;
    const template = options.templates === 'varied' ? hash32(`template:${index}`) % templateCount(e.category) : 0;
    out.push(generateTask({ category: e.category, difficulty: e.difficulty, split: split as TaskSplit, index, template }));
  }
  return out;
}
