// Countdown checking by parsing and evaluating the expression exactly (never eval): alternatives and the usual
// spellings accepted, reused / foreign numbers and division by zero refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCountdown, evaluateExpression, generateTask, verifyCompletion, type Task } from '../../../src/tasks/index.ts';

test('the evaluator respects precedence and parentheses', () => {
  assert.deepEqual(evaluateExpression('2+3*4'), { ok: true, value: 14, numbers: [2, 3, 4] });
  assert.deepEqual(evaluateExpression('(2+3)*4'), { ok: true, value: 20, numbers: [2, 3, 4] });
  assert.deepEqual(evaluateExpression('8/4/2'), { ok: true, value: 1, numbers: [8, 4, 2] });
  assert.deepEqual(evaluateExpression('2 - 5'), { ok: true, value: -3, numbers: [2, 5] }); // negative intermediates allowed
  assert.deepEqual(evaluateExpression('6 × 7 ÷ 2 − 1'), { ok: true, value: 20, numbers: [6, 7, 2, 1] });
});

test('malformed expressions are refused with a reason', () => {
  for (const [expr, why] of [
    ['7/0', 'division by zero'],
    ['-3+5', 'unary sign'],
    ['3+', 'unexpected end'],
    ['(3+4', "missing ')'"],
    ['3+4)', "unexpected ')'"],
    ['3 y 4', "unexpected 'y'"],
    ['__import__("os")', "unexpected '_'"],
    ['('.repeat(40) + '1' + ')'.repeat(40), 'nested too deeply'],
    ['1+'.repeat(200) + '1', 'longer than'],
  ] as const) {
    const r = evaluateExpression(expr);
    assert.equal(r.ok, false, expr);
    if (!r.ok) assert.ok(r.reason.includes(why), `${expr}: ${r.reason}`);
  }
});

test('any correct expression is accepted; numbers used at most once', () => {
  const given = [3, 4, 5];
  assert.equal(checkCountdown('3*4+5', given, 17).ok, true);
  assert.equal(checkCountdown('5+4*3', given, 17).ok, true);
  assert.equal(checkCountdown('(5+4)*3-10', given, 17).ok, false); // 10 not given
  assert.equal(checkCountdown('3*4+5 = 17', given, 17).ok, true);
  assert.equal(checkCountdown('3*4+5 = 18', given, 17).ok, false);
  assert.equal(checkCountdown('4*5-3', given, 17).ok, true); // a different valid route
  assert.equal(checkCountdown('3*5+4-4+2', given, 17).reason.includes('4 used more often'), true);
  assert.equal(checkCountdown('4*4+1', given, 17).ok, false);
  assert.equal(checkCountdown('3+4', given, 7).ok, true); // not every number has to be used
  assert.equal(checkCountdown('3+3+4', [3, 3, 4], 10).ok, true); // duplicates in the pool may each be used once
  assert.equal(checkCountdown('5/(4-4)', given, 0).reason, 'invalid expression: division by zero');
});

test('exact arithmetic and the usual spellings: fractions along the way, x, \\times, \\cdot, $, target first, a trailing period', () => {
  assert.deepEqual(evaluateExpression('7/2'), { ok: true, value: 3.5, numbers: [7, 2] });
  const given = [3, 4, 5];
  for (const answer of ['(3+4)*5', '35 = (3+4)*5', '(3+4)*5.', '(3+4)*5 = 35.', '(3 + 4) x 5', '(3+4) X 5', '$(3+4)\\times 5$', '\\left(3+4\\right)\\cdot 5']) {
    const r = checkCountdown(answer, given, 35);
    assert.equal(r.ok, true, `${answer}: ${r.reason}`);
  }
  // fractions along the way are fine when the value is the target exactly (4/3*6 = 8); a near miss is not
  assert.equal(checkCountdown('4/3*6', [4, 3, 6], 8).ok, true);
  assert.equal(checkCountdown('(7/2)*2', [7, 2, 2], 7).ok, true);
  assert.match(checkCountdown('7/2', [7, 2], 3).reason, /expression equals 7\/2, target is 3/);
  assert.match(checkCountdown('36 = (3+4)*5', given, 35).reason, /expression equals 35, not "36"/);
});

test('through the verifier: alternatives pass, reused numbers fail', () => {
  const task: Task = generateTask({ category: 'countdown', difficulty: 3, split: 'train', index: 3 });
  assert.equal(task.prompt, 'use 8,1,5 to make 32');
  for (const alt of ['(5-1)*8', '8*(5-1)', '(5 - 1) * 8 = 32', '8*4']) {
    const r = verifyCompletion(task, `<think>t</think><answer>${alt}</answer>`);
    const expected = alt !== '8*4';
    assert.equal(r.correct, expected, `${alt}: ${r.reason}`);
  }
  const reused = verifyCompletion(task, '<think>t</think><answer>8*5-8</answer>');
  assert.equal(reused.correct, false);
  assert.match(reused.reason, /8 used more often/);
});
