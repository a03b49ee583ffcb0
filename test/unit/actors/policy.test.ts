import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePrivilegedPrompt, encodePrompt, withPrivilegedContext } from '../../../src/actors/index.ts';
import { CharTokenizer } from '../../../src/engine/tokenizer.ts';

test('a privileged context put before encoded prompt ids gives the ids of the text "<context>\\n<prompt>" with <bos>', () => {
  const tok = CharTokenizer.builtin();
  for (const [prompt, context] of [['12+7=?', '<think>2+7=9 1+0=1</think><answer>19</answer>'], ['<answer>', 'x'], ['3', '']] as const) {
    const text = tok.encode(`${context}\n${prompt}`, { bos: true });
    assert.deepEqual(withPrivilegedContext(tok, encodePrompt(tok, prompt), context), text, `${prompt} | ${context}`);
    assert.deepEqual(encodePrivilegedPrompt(tok, prompt, context), text, `encodePrivilegedPrompt: ${prompt} | ${context}`);
  }
  // ids without a leading <bos> are taken as the prompt itself
  assert.deepEqual(withPrivilegedContext(tok, tok.encode('5'), 'c'), tok.encode('c\n5', { bos: true }));
});
