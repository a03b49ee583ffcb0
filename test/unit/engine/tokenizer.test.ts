// Char tokenizer: fixed ids, round trips, <unk> handling, and the HF tokenizer.json it writes and reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharTokenizer, SpecialToken } from '../../../src/engine/tokenizer.ts';
import { RlmeshError } from '../../../src/errors.ts';

const tok = CharTokenizer.builtin();
const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

test('ids are fixed: specials 0-7, printable ASCII from 8, newline last', () => {
  assert.deepEqual(
    [tok.padId, tok.bosId, tok.eosId, tok.unkId, tok.thinkId, tok.thinkEndId, tok.answerId, tok.answerEndId],
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  assert.equal(tok.vocabSize, 104);
  assert.equal(tok.tokenToId(' '), 8);
  assert.equal(tok.tokenToId('0'), 8 + 0x30 - 0x20);
  assert.equal(tok.tokenToId('A'), 41);
  assert.equal(tok.tokenToId('~'), 102);
  assert.equal(tok.tokenToId('\n'), 103);
  assert.equal(tok.idToToken(6), '<answer>');
});

test('every printable ASCII character and newline round-trips, one token each', () => {
  const text = printable + '\n' + printable.split('').reverse().join('');
  const ids = tok.encode(text);
  assert.equal(ids.length, text.length);
  assert.equal(tok.decode(ids), text);
  assert.ok(ids.every((id) => id >= 8));
});

test('task tags are single tokens and survive skipSpecial; bos/eos/pad do not', () => {
  const text = '<think>2+2 is 4</think>\n<answer>4</answer>';
  const ids = tok.encode(text, { bos: true, eos: true });
  assert.equal(ids[0], tok.bosId);
  assert.equal(ids.at(-1), tok.eosId);
  assert.equal(ids[1], tok.thinkId);
  assert.equal(ids.filter((id) => id === tok.answerId).length, 1);
  assert.equal(ids.length, 2 + 4 + '2+2 is 4\n4'.length); // bos, eos, 4 tags, then one token per character
  assert.equal(tok.decode(ids), '<bos>' + text + '<eos>');
  assert.equal(tok.decode([...ids, tok.padId, tok.padId], { skipSpecial: true }), text);
  // a '<' that starts no tag stays a character
  assert.deepEqual(tok.decode(tok.encode('a <b> <thin')), 'a <b> <thin');
  assert.equal(tok.encode('<thin').length, 5);
});

test('unknown characters become <unk> (lossy), one per code point', () => {
  const ids = tok.encode('a\tb\u00e9\u{1F600}c\r');
  assert.deepEqual(ids, [tok.tokenToId('a'), tok.unkId, tok.tokenToId('b'), tok.unkId, tok.unkId, tok.tokenToId('c'), tok.unkId]);
  assert.equal(tok.decode(ids), 'a<unk>b<unk><unk>c<unk>');
  assert.equal(tok.decode(ids, { skipSpecial: true }), 'abc');
});

test('decode refuses ids outside the vocabulary with the position named', () => {
  assert.throws(() => tok.decode([8, 104]), (e: unknown) => e instanceof RlmeshError && e.field === 'ids[1]');
  assert.throws(() => tok.decode([-1]), RlmeshError);
  assert.throws(() => tok.decode([1.5]), RlmeshError);
});

test('tokenizer.json: WordLevel + per-character Split + Fuse, round-trips through JSON', () => {
  const json = tok.toJSON();
  assert.equal(json.model.type, 'WordLevel');
  assert.equal(json.model.unk_token, '<unk>');
  assert.equal(Object.keys(json.model.vocab).length, 104);
  assert.equal(json.model.vocab['\n'], 103);
  assert.deepEqual(json.added_tokens.map((t) => [t.id, t.content, t.special]), [
    [0, '<pad>', true], [1, '<bos>', true], [2, '<eos>', true], [3, '<unk>', true],
    [4, '<think>', false], [5, '</think>', false], [6, '<answer>', false], [7, '</answer>', false],
  ]);
  // the split regex must isolate every character, newline included (JS and Oniguruma agree on [\s\S])
  const re = new RegExp(json.pre_tokenizer.pattern.Regex, 'g');
  assert.deepEqual('a \nb'.match(re), ['a', ' ', '\n', 'b']);
  assert.equal(json.decoder.type, 'Fuse');
  const back = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(back.tokens, tok.tokens);
  assert.deepEqual(back.encode('<answer>x</answer>\n'), tok.encode('<answer>x</answer>\n'));
});

test('fromJSON refuses malformed tokenizer.json with the field named', () => {
  const good = tok.toJSON();
  const cases: Array<[unknown, string]> = [
    [null, '(root)'],
    [{ ...good, model: { ...good.model, type: 'BPE' } }, 'model.type'],
    [{ ...good, model: { ...good.model, vocab: { ...good.model.vocab, a: 0 } } }, 'model.vocab["a"]'],
    [{ ...good, model: { ...good.model, vocab: { ...good.model.vocab, ab: 104 } } }, 'model.vocab["ab"]'],
  ];
  const noAnswer = { ...good.model.vocab };
  delete noAnswer[SpecialToken.answer];
  cases.push([{ ...good, model: { ...good.model, vocab: noAnswer } }, 'model.vocab["<answer>"]']);
  for (const [raw, field] of cases) {
    assert.throws(() => CharTokenizer.fromJSON(raw), (e: unknown) => e instanceof RlmeshError && e.field === field, field);
  }
});
