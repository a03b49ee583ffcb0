// Our answer checker against answer-equivalence cases in the style of public verifier suites, plus extraction order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAnswer, lastBoxed, listAnswersEqual, numericAnswersEqual, parseNumericAnswer, formatRational } from '../../../src/tasks/index.ts';
import { EQUIVALENCE_GROUPS } from '../../fixtures/answer-equivalence/cases.ts';

for (const group of EQUIVALENCE_GROUPS) {
  test(`equivalence: ${group.mirrors}`, () => {
    const wrong: string[] = [];
    for (const [candidate, expected, equal] of group.cases) {
      const got = group.kind === 'list' ? listAnswersEqual(candidate, expected) : numericAnswersEqual(candidate, expected);
      if (got !== equal) wrong.push(`${JSON.stringify(candidate)} vs ${JSON.stringify(expected)}: got ${got}, want ${equal}`);
    }
    assert.deepEqual(wrong, []);
  });
}

test('parseNumericAnswer gives exact rationals', () => {
  const show = (s: string): string | null => {
    const r = parseNumericAnswer(s);
    return r && formatRational(r);
  };
  assert.equal(show('1,000'), '1000');
  assert.equal(show('\\frac{6}{4}'), '3/2');
  assert.equal(show('-0.75'), '-3/4');
  assert.equal(show('nothing'), null);
});

test('extraction order: answer tag, then boxed, then ####, then last number', () => {
  assert.deepEqual(extractAnswer('<think>1+1=2</think><answer>2</answer>'), { text: '2', source: 'answer_tag' });
  assert.deepEqual(extractAnswer('<answer>so \\boxed{\\frac{3}{4}}</answer>'), { text: '\\frac{3}{4}', source: 'answer_tag' });
  assert.deepEqual(extractAnswer('we get \\boxed{12} and then \\boxed{\\frac{3}{4}}.'), { text: '\\frac{3}{4}', source: 'boxed' });
  assert.deepEqual(extractAnswer('steps 4 5\n#### 1,234\nthanks 9'), { text: '1,234', source: 'hash' });
  assert.deepEqual(extractAnswer('first 3 then 44 apples'), { text: '44', source: 'last_number' });
  assert.deepEqual(extractAnswer('no digits'), { text: '', source: 'none' });
  assert.deepEqual(extractAnswer('sorted: [1, 2, 3] done', 'list'), { text: '[1, 2, 3]', source: 'last_list' });
  assert.deepEqual(extractAnswer('use 3 4', 'expression'), { text: '', source: 'none' });
});

test('boxed handles nesting, the space form and unclosed braces', () => {
  assert.equal(lastBoxed('\\boxed{\\frac{1}{\\sqrt{2}}}'), '\\frac{1}{\\sqrt{2}}');
  assert.equal(lastBoxed('\\boxed 5$'), '5');
  assert.equal(lastBoxed('\\fbox{7}'), '7');
  assert.equal(lastBoxed('\\boxed{3'), null);
});

test('adversarial inputs are processed in bounded time (no catastrophic backtracking)', () => {
  // each is 64 KB of a pattern that hurts backtracking regexes; the test fails only on wrong results,
  // a pathological implementation would hang the runner instead
  const inputs = ['1,'.repeat(32768), '\\boxed{'.repeat(9000), '1'.repeat(65536), '- '.repeat(32768) + '3', '\\frac{'.repeat(9000), '<answer>'.repeat(8000), '<'.repeat(65536), '\\frac{1}{'.repeat(7000)];
  for (const s of inputs) {
    extractAnswer(s);
    parseNumericAnswer(s);
  }
  assert.equal(parseNumericAnswer('- '.repeat(1000) + '3')?.num, -3n);
});
