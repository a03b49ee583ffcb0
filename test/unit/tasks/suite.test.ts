// Suite specs and task listing: named suites, ranges, errors naming the bad part, determinism by seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listTasks, parseSuiteSpec, taskFromId } from '../../../src/tasks/index.ts';
import { RlmeshError } from '../../../src/errors.ts';

const pairs = (spec: string): string[] => parseSuiteSpec(spec).map((e) => `${e.category}:${e.difficulty}`);

test('explicit ranges, single levels, named suites and de-duplication', () => {
  assert.deepEqual(pairs('add:1-3,sub:2,sort:3-4'), ['add:1', 'add:2', 'add:3', 'sub:2', 'sort:3', 'sort:4']);
  assert.deepEqual(pairs('arithmetic'), ['add:1', 'add:2', 'add:3', 'sub:1', 'sub:2', 'sub:3', 'mul:1', 'mul:2']);
  assert.deepEqual(pairs(' chains , add:1-2, add:2-3 '), ['chain:1', 'chain:2', 'chain:3', 'chain:4', 'add:1', 'add:2', 'add:3']);
  assert.equal(pairs('all').length, 8 + 12 + 2 + 4);
  assert.deepEqual(pairs('countdown'), ['countdown:3', 'countdown:4']);
  assert.equal(pairs('max').length, 15); // a bare category means its whole range
});

test('bad suite parts are named in the error', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty suite/],
    ['add:1-3,frob:2', /part 2 "frob:2": unknown category or suite "frob"/],
    ['add:3-1', /part 1 "add:3-1": range 3-1 is empty/],
    ['add:1-99', /part 1 "add:1-99": add difficulty must be within 1-12/],
    ['countdown:1', /countdown difficulty must be within 2-6/],
    ['add:,sub:1', /part 1 "add:": expected/],
    ['add:1-3;sub:1', /part 1 "add:1-3;sub:1": expected/],
    // names an object inherits are no suites (they passed the lookup and crashed later)
    ['constructor', /part 1 "constructor": unknown category or suite "constructor"/],
    ['toString', /part 1 "toString": expected/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseSuiteSpec(spec),
      (e: unknown) => e instanceof RlmeshError && e.category === 'config' && e.field === 'suite' && message.test(e.message),
      spec,
    );
  }
});

test('listTasks is deterministic by seed, round-robin over entries, and ids regenerate', () => {
  const a = listTasks({ suite: 'add:1-2,sort:3', split: 'heldout', limit: 30, seed: 5 });
  const b = listTasks({ suite: 'add:1-2,sort:3', split: 'heldout', limit: 30, seed: 5 });
  const c = listTasks({ suite: 'add:1-2,sort:3', split: 'heldout', limit: 30, seed: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((t) => t.taskId), c.map((t) => t.taskId));
  assert.deepEqual(a.slice(0, 3).map((t) => `${t.category}:${t.difficulty}`), ['add:1', 'add:2', 'sort:3']);
  assert.ok(a.every((t) => t.split === 'heldout'));
  for (const t of a) assert.deepEqual(taskFromId(t.taskId), t);
  assert.equal(new Set(a.map((t) => t.taskId)).size, 30);
});

test('varied templates use more than the default one; default uses only template 0', () => {
  const varied = listTasks({ suite: 'arithmetic', limit: 200, templates: 'varied' });
  assert.ok(new Set(varied.map((t) => t.templateId.split('.t')[1])).size >= 3);
  for (const t of varied) assert.deepEqual(taskFromId(t.taskId), t);
  assert.ok(listTasks({ suite: 'arithmetic', limit: 50 }).every((t) => t.templateId.endsWith('.t0')));
});

test('listTasks validates split, limit and seed with the field named', () => {
  for (const [opts, field] of [
    [{ suite: 'add', split: 'test', limit: 1 }, 'split'],
    [{ suite: 'add', limit: 0 }, 'limit'],
    [{ suite: 'add', limit: 10001 }, 'limit'],
    [{ suite: 'add', limit: 1, seed: -1 }, 'seed'],
    [{ suite: 'nope', limit: 1 }, 'suite'],
  ] as const) {
    assert.throws(() => listTasks(opts), (e: unknown) => e instanceof RlmeshError && e.field === field, field);
  }
});
