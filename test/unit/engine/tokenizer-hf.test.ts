// The tokenizer.json we write, loaded by the real Hugging Face `tokenizers` library (Rust, via @anush008/tokenizers):
// same ids as CharTokenizer.encode for ASCII, tags, newlines and unknown characters; same text back from decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '@anush008/tokenizers';
import { CharTokenizer } from '../../../src/engine/tokenizer.ts';

const ours = CharTokenizer.builtin();
const hf = Tokenizer.fromString(JSON.stringify(ours.toJSON()));
const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

const texts = [
  printable,
  'a  b\n\nc ',
  '<think>12+30: add tens, then ones</think>\n<answer>42</answer>',
  '<eos>x<pad><bos>y<unk>',
  'a <b> <thin </answe <answer',
  'caf\u00e9 \t tab\r\n \u{1F600}!',
];

test('HF tokenizers encodes every sample to the same ids (add_special_tokens adds <bos>)', async () => {
  assert.equal(hf.getVocabSize(true), ours.vocabSize);
  for (const text of texts) {
    const plain = await hf.encode(text, null, { addSpecialTokens: false });
    assert.deepEqual(plain.getIds(), ours.encode(text), JSON.stringify(text));
    const withBos = await hf.encode(text);
    assert.deepEqual(withBos.getIds(), ours.encode(text, { bos: true }), JSON.stringify(text));
  }
});

test('HF tokenizers decodes to the same text, with and without special tokens', async () => {
  for (const text of texts) {
    const ids = ours.encode(text, { bos: true, eos: true });
    assert.equal(await hf.decode(ids, false), ours.decode(ids), JSON.stringify(text));
    assert.equal(await hf.decode(ids, true), ours.decode(ids, { skipSpecial: true }), JSON.stringify(text));
  }
  assert.equal(await hf.decode(ours.encode(printable + '\n'), false), printable + '\n');
});
