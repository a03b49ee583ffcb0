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

test('adversarial inputs get their answers without catastrophic backtracking', () => {
  // Each is ~64 KB of a pattern that hurts backtracking regexes (a pathological implementation hangs the runner).
  // Expected: the last number of the scanned tail, or nothing where there is no gradeable number.
  const cases: Array<[string, string, { num: bigint; den: bigint } | null]> = [
    ['1,'.repeat(32768), '1,1', { num: 11n, den: 10n }], // a comma before fewer than 3 digits is a decimal comma
    ['\\boxed{'.repeat(9000), '', null], // unclosed boxes, no digits
    ['1'.repeat(65536), '', null], // longer than the 400-digit cap: no number we grade
    ['- '.repeat(32768) + '3', '- 3', { num: -3n, den: 1n }],
    ['\\frac{'.repeat(9000), '', null],
    ['<answer>'.repeat(8000), '', null], // tags that never close, nothing inside
    ['<'.repeat(65536), '', null],
    ['\\frac{1}{'.repeat(7000), '1', { num: 1n, den: 1n }], // no \\frac closes: the last bare 1
  ];
  cases.forEach(([s, text, value], i) => {
    assert.equal(extractAnswer(s).text, text, `input ${i}: extracted text`);
    const parsed = parseNumericAnswer(s);
    assert.deepEqual(parsed && { num: parsed.num, den: parsed.den }, value, `input ${i}: value`);
  });
});

test('nested \\frac arguments that are no number are skipped whole: scanned once, not once per depth', () => {
  // 8 blocks of 36 nested \\frac{ took ~0.4 s per 2 KB answer (the scan re-entered each argument at every depth), and
  // an item of such a block around a 1 was read as the number 1.
  const block = '\\frac{'.repeat(36) + '}'.repeat(36);
  for (let k = 0; k < 50; k++) {
    assert.equal(numericAnswersEqual(`${Array(8).fill(block).join(', ')}, so 7`, '7'), true); // (\\frac{..} 7 would be \\frac{..}{7})
    assert.equal(listAnswersEqual(Array(8).fill(`${block}1`).join(','), Array(8).fill('1').join(',')), false);
  }
});
