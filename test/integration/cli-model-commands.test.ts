// `rlmesh init | score | generate` run as child processes (bin/rlmesh.mjs) on a tiny checkpoint written by init;
// their output is checked against the same checkpoint evaluated in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadCheckpoint } from '../../src/engine/checkpoint.ts';
import { LlamaModel } from '../../src/engine/model.ts';

const run = promisify(execFile);
interface CliResult { code: number; stdout: string; stderr: string }

async function rlmesh(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rlmesh.mjs', ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-cli-'));
const yamlFile = path.join(root, 'tiny.yaml');
writeFileSync(yamlFile, 'hidden_size: 16\nintermediate_size: 32\nnum_hidden_layers: 2\nnum_attention_heads: 2\nnum_key_value_heads: 1\nmax_position_embeddings: 48\n');
const ckpt = path.join(root, 'tiny');

test('init writes a loadable checkpoint; the same seed gives the same bytes', async () => {
  const [a, b, c] = await Promise.all([
    rlmesh('init', '--config', yamlFile, '--out', ckpt, '--seed', '5'),
    rlmesh('init', '--config', yamlFile, '--out', path.join(root, 'again'), '--seed', '5'),
    rlmesh('init', '--config', yamlFile, '--out', path.join(root, 'other'), '--seed', '6'),
  ]);
  for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
  assert.match(a.stdout, /wrote .*tiny \(\d+ parameters, seed 5\)/);
  const loaded = await loadCheckpoint(ckpt);
  assert.equal(loaded.config.vocab_size, 104, 'vocab_size defaults to the tokenizer');
  assert.equal(loaded.config.num_key_value_heads, 1);
  const bytes = (d: string) => readFileSync(path.join(d, 'model.safetensors'));
  assert.ok(bytes(ckpt).equals(bytes(path.join(root, 'again'))));
  assert.ok(!bytes(ckpt).equals(bytes(path.join(root, 'other'))));
});

test('init refuses a bad config, a missing --out and an existing folder, naming the problem', async () => {
  const bad = path.join(root, 'bad.json');
  writeFileSync(bad, JSON.stringify({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 3, max_position_embeddings: 8 }));
  const typo = path.join(root, 'typo.yaml');
  writeFileSync(typo, `${readFileSync(yamlFile, 'utf8')}rope_thetta: 500\n`);
  const [r1, r2, r3, r4] = await Promise.all([
    rlmesh('init', '--config', bad, '--out', path.join(root, 'x')),
    rlmesh('init', '--config', yamlFile),
    rlmesh('init', '--config', yamlFile, '--out', ckpt, '--seed', '9'),
    rlmesh('init', '--config', typo, '--out', path.join(root, 'typo-out')),
  ]);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /--config: .*unknown key "rope_thetta"; allowed: .*rope_theta/, 'a misspelt key is not silently defaulted');
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /num_key_value_heads/);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /--out: is required/);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /exists and is not empty/);
});

test('pretrain reads every flag before it trains, and names inherited object keys no suite, actor or command', async () => {
  const out = path.join(root, 'pretrain-out');
  const [steps, suite, actor, command] = await Promise.all([
    // a bad --student-steps used to be found after the teacher was trained and written (the default --out is models/)
    rlmesh('pretrain', '--out', out, '--teacher-steps', '2', '--student-steps', '0', '--hidden', '8', '--layers', '1'),
    rlmesh('pretrain', '--out', out, '--suite', 'constructor'),
    rlmesh('serve', 'constructor'),
    rlmesh('constructor'),
  ]);
  assert.equal(steps.code, 1);
  assert.match(steps.stderr, /--student-steps: must be >= 1, got 0/);
  assert.equal(existsSync(out), false, 'nothing was written');
  assert.equal(suite.code, 1);
  assert.match(suite.stderr, /--suite: part 1 "constructor": unknown category or suite "constructor"/);
  assert.equal(actor.code, 1);
  assert.match(actor.stderr, /actor: unknown actor "constructor"/);
  assert.equal(command.code, 2);
  assert.match(command.stderr, /unknown command "constructor"/);
});

test('score --json matches a full forward pass of the same checkpoint', async () => {
  const r = await rlmesh('score', '--model', ckpt, '--prompt', 'Q: 2+3?\n', '--completion', '<answer>5</answer>', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tokens: string[]; logprobs: number[]; entropies: number[] };
  assert.deepEqual(out.tokens, ['<answer>', '5', '</answer>']);
  const { config, weights, tokenizer } = await loadCheckpoint(ckpt);
  const model = LlamaModel.fromWeights(config, weights);
  const prompt = tokenizer.encode('Q: 2+3?\n', { bos: true });
  const completion = tokenizer.encode('<answer>5</answer>');
  const ids = [...prompt, ...completion];
  const lsmT = model.logSoftmax([ids]);
  const lsm = lsmT.arraySync()[0]!;
  lsmT.dispose();
  model.dispose();
  completion.forEach((tok, i) => {
    const row = lsm[prompt.length - 1 + i]!;
    assert.ok(Math.abs(out.logprobs[i]! - row[tok]!) < 1e-5, `logprob ${i}: ${out.logprobs[i]} vs ${row[tok]}`);
    const entropy = -row.reduce((s, l) => s + Math.exp(l) * l, 0);
    assert.ok(Math.abs(out.entropies[i]! - entropy) < 1e-4, `entropy ${i}: ${out.entropies[i]} vs ${entropy}`);
  });
});

test('generate: seeded samples repeat, greedy follows the argmax, bad flags are refused', async () => {
  const common = ['generate', '--model', ckpt, '--prompt', '7*6=', '--max-new-tokens', '6', '--json'];
  const [s1, s2, greedy, badP, badN, missing, long, full] = await Promise.all([
    rlmesh(...common, '-n', '3', '--seed', '11', '--top-k', '20'),
    rlmesh(...common, '-n', '3', '--seed', '11', '--top-k', '20'),
    rlmesh(...common, '-n', '2', '--temperature', '0'),
    rlmesh(...common, '--top-p', '2'),
    rlmesh(...common, '-n', 'lots'),
    rlmesh('generate', '--model', path.join(root, 'nope'), '--prompt', 'x'),
    rlmesh('generate', '--model', ckpt, '--prompt', '7*6=', '--max-new-tokens', '1000'),
    rlmesh('generate', '--model', ckpt, '--prompt', '1'.repeat(60)),
  ]);
  for (const r of [s1, s2, greedy]) assert.equal(r.code, 0, r.stderr);
  type Out = { completions: Array<{ text: string; tokens: number[]; finish_reason: string }> };
  const a = JSON.parse(s1.stdout) as Out, b = JSON.parse(s2.stdout) as Out, g = JSON.parse(greedy.stdout) as Out;
  assert.equal(a.completions.length, 3);
  assert.deepEqual(a, b, 'same seed, same samples');
  for (const c of a.completions) assert.ok(c.tokens.length >= 1 && c.tokens.length <= 6);
  assert.deepEqual(g.completions[0], g.completions[1], 'temperature 0 is deterministic');
  // greedy's first token is the argmax of the model at the end of the prompt
  const { config, weights, tokenizer } = await loadCheckpoint(ckpt);
  const model = LlamaModel.fromWeights(config, weights);
  const prompt = tokenizer.encode('7*6=', { bos: true });
  const logitsT = model.logits([prompt]);
  const last = logitsT.arraySync()[0]![prompt.length - 1]!;
  logitsT.dispose();
  model.dispose();
  assert.equal(g.completions[0]!.tokens[0], last.indexOf(Math.max(...last)));
  assert.equal(g.completions[0]!.text, tokenizer.decode(g.completions[0]!.tokens, { skipSpecial: true }));
  assert.equal(badP.code, 1);
  assert.match(badP.stderr, /--top-p: must be <= 1, got 2/);
  assert.equal(badN.code, 1);
  assert.match(badN.stderr, /--n: must be an integer, got "lots"/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /does not exist/);
  // the context (max_position_embeddings 48) bounds the flag by name, with the arithmetic: 48 - (BOS + 4) = 43
  assert.equal(long.code, 1);
  assert.match(long.stderr, /--max-new-tokens: must be <= 43, got 1000: the model's context is 48 tokens \(max_position_embeddings\) and the prompt takes 5/);
  assert.equal(full.code, 1);
  assert.match(full.stderr, /--prompt: leaves no room to generate/);
});
