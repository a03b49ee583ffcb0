// A client-sent task spec (Verify with an explicit task) is checked before anything is graded against it: every
// generated spec passes; a list task whose answer cannot be its list's, or an oversized answer, is refused naming the
// field (the verifier graded every completion against "9,1" for a sort of 5 digits, and re-parsed a 1 MB answer per item).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlmeshError } from '../../../src/errors.ts';
import { fromTaskSpec, listTasks, toTaskSpec, type TaskSpecShape } from '../../../src/tasks/index.ts';

test('every generated spec round-trips; impossible list answers and oversized answers are refused naming the field', () => {
  for (const suite of ['sort:2-6', 'reverse:3', 'count:4', 'max:5', 'add:1-3', 'countdown:3', 'chain:2']) {
    for (const split of ['train', 'heldout'] as const) {
      for (const t of listTasks({ suite, split, limit: 100, seed: 1 })) assert.equal(fromTaskSpec(toTaskSpec(t)).answer, t.answer);
    }
  }
  const spec = (suite: string): TaskSpecShape => toTaskSpec(listTasks({ suite, split: 'train', limit: 1, seed: 1 })[0]!);
  const refused = (s: TaskSpecShape, field: string, message: RegExp) => assert.throws(() => fromTaskSpec(s),
    (e: unknown) => e instanceof RlmeshError && e.field === field && message.test(e.message), `${field}: ${message}`);
  const sort = spec('sort:5');
  refused({ ...sort, answer: '9,1' }, 'task.answer', /2 items, but the list has 5/);
  refused({ ...sort, answer: '1,2,3,4,5' }, 'task.answer', /not the sorted params\.list/);
  refused({ ...sort, params: {}, answer: '5,4,3,2,1' }, 'task.answer', /must be ascending/);
  refused({ ...sort, params: { list: '1,2' } }, 'task.params.list', /must be 5 numbers/);
  refused({ ...spec('reverse:3'), answer: '1,2,3' }, 'task.answer', /not the reversed params\.list/);
  refused({ ...spec('count:4'), answer: '-7.5' }, 'task.answer', /integer in 0\.\.4/);
  refused({ ...spec('max:5'), answer: '10' }, 'task.answer', /the max of .* is \d, not 10/);
  refused({ ...spec('add:2'), answer: '1'.repeat(5000) }, 'task.answer', /5000 characters; at most 4096/);
});
