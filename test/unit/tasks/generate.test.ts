// Task generation: determinism, ids that regenerate instances, split disjointness, reference traces that
// verify with full reward for every category and difficulty, wrong answers that fail, bad ids refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIFFICULTY_RANGE,
  TASK_CATEGORIES,
  generateTask,
  listTasks,
  parseTaskId,
  taskFromId,
  templateCount,
  verifyCompletion,
  completionLength,
  type Task,
} from '../../../src/tasks/index.ts';
import { RlmeshError } from '../../../src/errors.ts';

const PRINTABLE = /^[\x20-\x7e\n]*$/;

test('same reference gives the same task; different indices give different tasks', () => {
  const a = generateTask({ category: 'add', difficulty: 3, split: 'train', index: 42 });
  const b = generateTask({ category: 'add', difficulty: 3, split: 'train', index: 42 });
  assert.deepEqual(a, b);
  assert.equal(a.taskId, 'add/d3/train/42');
  const prompts = new Set<string>();
  for (let i = 0; i < 50; i++) prompts.add(generateTask({ category: 'add', difficulty: 3, split: 'train', index: i }).prompt);
  assert.ok(prompts.size >= 45, `only ${prompts.size} distinct prompts in 50`);
});

test('taskFromId regenerates every category, split and template', () => {
  for (const category of TASK_CATEGORIES) {
    const [lo, hi] = DIFFICULTY_RANGE[category];
    for (const split of ['train', 'heldout'] as const) {
      for (let t = 0; t < templateCount(category); t++) {
        const task = generateTask({ category, difficulty: Math.min(lo + 1, hi), split, index: 7 + t, template: t });
        assert.deepEqual(taskFromId(task.taskId), task);
        assert.equal(task.templateId, `${category}.t${t}`);
      }
    }
  }
});

test('train and held-out never share a problem (6000 instances per split)', () => {
  const seen = { train: new Set<string>(), heldout: new Set<string>() };
  // problem identity = prompt of the default template, which renders every problem parameter
  for (const category of ['add', 'sub', 'mul', 'chain', 'sort', 'count', 'countdown'] as const) {
    const difficulty = category === 'countdown' ? 3 : 2;
    for (const split of ['train', 'heldout'] as const) {
      for (let i = 0; i < 860; i++) seen[split].add(`${generateTask({ category, difficulty, split, index: i }).prompt}`);
    }
  }
  const shared = [...seen.train].filter((p) => seen.heldout.has(p));
  assert.deepEqual(shared, []);
  assert.ok(seen.train.size > 1000 && seen.heldout.size > 400, `${seen.train.size} / ${seen.heldout.size} distinct`);
  // commutative problems are one problem: 3+5 and 5+3 never straddle the split
  const flip = (p: string): string => p.replace(/^(\d+)\+(\d+)=\?$/, '$2+$1=?');
  assert.deepEqual([...seen.train].filter((p) => p.includes('+') && seen.heldout.has(flip(p))), []);
});

function assertFullReward(task: Task): void {
  const r = verifyCompletion(task, task.referenceSolution);
  assert.equal(r.correct, true, `${task.taskId}: ${task.referenceSolution} -> ${r.reason}`);
  assert.equal(r.formatOk, true, `${task.taskId}: ${r.reason}`);
  assert.deepEqual(r.components, { correctness: 1, format: 1, overlong: 0 }, task.taskId);
  assert.equal(r.total, 1.1, task.taskId);
}

test('reference solutions verify with full reward for every category and difficulty', () => {
  for (const category of TASK_CATEGORIES) {
    const [lo, hi] = DIFFICULTY_RANGE[category];
    for (let d = lo; d <= hi; d++) {
      for (const split of ['train', 'heldout'] as const) {
        for (let i = 0; i < 5; i++) {
          const task = generateTask({ category, difficulty: d, split, index: i });
          assert.match(task.prompt, PRINTABLE);
          assert.match(task.referenceSolution, PRINTABLE);
          assertFullReward(task);
        }
      }
    }
  }
});

test('easy levels stay short: prompts < 40 chars, references < 50 tokens (each tag is one token)', () => {
  const easy = { add: 3, sub: 3, mul: 2, chain: 3, sort: 5, reverse: 5, count: 5, max: 5, countdown: 3 } as const;
  for (const [category, dMax] of Object.entries(easy)) {
    for (let d = DIFFICULTY_RANGE[category as keyof typeof easy][0]; d <= dMax; d++) {
      for (let i = 0; i < 20; i++) {
        const t = generateTask({ category: category as keyof typeof easy, difficulty: d, split: 'train', index: i });
        assert.ok(t.prompt.length < 40, `${t.taskId} prompt ${t.prompt.length}: ${t.prompt}`);
        const tokens = completionLength(t.referenceSolution);
        assert.ok(tokens < 50, `${t.taskId} reference ${tokens} tokens: ${t.referenceSolution}`);
      }
    }
  }
});

test('scratchpad formats are the documented ones', () => {
  const add = generateTask({ category: 'add', difficulty: 2, split: 'train', index: 3 });
  assert.equal(add.prompt, '58+29=?');
  assert.equal(add.referenceSolution, '<think>8+9=17 c1 5+2+1=8</think><answer>87</answer>');
  const sub = generateTask({ category: 'sub', difficulty: 2, split: 'heldout', index: 3 });
  assert.equal(sub.referenceSolution, '<think>14-8=6 b1 8-5-1=2</think><answer>26</answer>');
  const chain = generateTask({ category: 'chain', difficulty: 2, split: 'train', index: 3 });
  assert.equal(chain.prompt, 'a=6*8,b=a+2,b=?');
  assert.equal(chain.referenceSolution, '<think>a=48 b=50</think><answer>50</answer>');
});

test('wrong answers fail for every category', () => {
  for (const category of TASK_CATEGORIES) {
    const [lo] = DIFFICULTY_RANGE[category];
    for (let i = 0; i < 20; i++) {
      const task = generateTask({ category, difficulty: lo + 1, split: 'train', index: i });
      const wrong =
        category === 'countdown'
          ? task.answer.replace(/\d+$/, (n) => String(Number(n) + 1000))
          : category === 'sort' || category === 'reverse'
            ? task.answer.split(',').concat('9').join(',')
            : String(Number(task.answer) + 1);
      const r = verifyCompletion(task, `<think>x</think><answer>${wrong}</answer>`);
      assert.equal(r.correct, false, `${task.taskId}: ${wrong} accepted`);
      assert.equal(r.components.correctness, 0);
      assert.equal(r.formatOk, true);
    }
  }
});

test('bad task ids raise RlmeshError naming the field', () => {
  const cases: Array<[string, string]> = [
    ['nope/d1/train/0', 'not_found'],
    ['add/d0/train/0', 'config'],
    ['add/d13/train/0', 'config'],
    ['add/d3/test/0', 'config'],
    ['add/d3/train/-1', 'config'],
    ['add/d3/train/1/t9', 'config'],
    ['add d3', 'config'],
    ['', 'config'],
  ];
  for (const [id, category] of cases) {
    assert.throws(
      () => taskFromId(id, 'items[2].task_id'),
      (e: unknown) => e instanceof RlmeshError && e.category === category && e.field === 'items[2].task_id',
      id,
    );
  }
  assert.deepEqual(parseTaskId('mul/d2/heldout/9/t2'), { category: 'mul', difficulty: 2, split: 'heldout', index: 9, template: 2 });
});

test('a one-step chain lies in the split of the arithmetic problem it is (no held-out add problem is trained as a chain)', () => {
  const keyOf = (prompt: string) => {
    const m = /a=(\d)([+\-*])(\d)/.exec(prompt)!;
    const [x, op, y] = [Number(m[1]), m[2]!, Number(m[3])];
    const [lo, hi] = x <= y ? [x, y] : [y, x];
    return op === '-' ? `sub ${x}-${y}` : op === '+' ? `add ${lo}+${hi}` : `mul ${lo}*${hi}`;
  };
  const arithmetic = new Map<string, string>();
  for (const split of ['train', 'heldout'] as const) {
    for (const t of listTasks({ suite: 'add:1,sub:1,mul:1', split, limit: 1000, seed: 0 })) {
      const m = /(\d)\s*([+\-*])\s*(\d)/.exec(t.prompt)!;
      const [x, op, y] = [Number(m[1]), m[2]!, Number(m[3])];
      const [lo, hi] = x <= y ? [x, y] : [y, x];
      arithmetic.set(op === '-' ? `sub ${x}-${y}` : op === '+' ? `add ${lo}+${hi}` : `mul ${lo}*${hi}`, split);
    }
  }
  let compared = 0;
  for (const split of ['train', 'heldout'] as const) {
    for (const t of listTasks({ suite: 'chain:1', split, limit: 1000, seed: 0 })) {
      const other = arithmetic.get(keyOf(t.prompt));
      if (other === undefined) continue;
      compared++;
      assert.equal(other, split, `${t.prompt} is ${split} as a chain but ${other} as arithmetic`);
    }
  }
  assert.ok(compared > 20, `compared ${compared}`);
});
