// `rlmesh eval` as a child process on a checkpoint written by `rlmesh init`: every sample is graded (an untrained
// model's output too), the JSON report matches a re-grade in this process, the same seed reproduces the samples,
// and bad flags are refused naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EvalFile } from '../../src/cli/commands/eval.ts';
import { evaluateSamples, listTasks, taskFromId, verifyCompletion } from '../../src/tasks/index.ts';

const run = promisify(execFile);
interface CliResult { code: number; stdout: string; stderr: string }

async function rlmesh(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rlmesh.mjs', ...args], { encoding: 'utf8', env: { ...process.env, RLMESH_BACKEND: 'wasm' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-eval-'));
const ckpt = path.join(root, 'tiny');
const yamlFile = path.join(root, 'tiny.yaml');
writeFileSync(yamlFile, 'hidden_size: 16\nintermediate_size: 32\nnum_hidden_layers: 2\nnum_attention_heads: 2\nnum_key_value_heads: 1\nmax_position_embeddings: 64\n');

test('eval grades every sample of an untrained checkpoint and writes a report that re-grades the same', async () => {
  const init = await rlmesh('init', '--config', yamlFile, '--out', ckpt, '--seed', '3');
  assert.equal(init.code, 0, init.stderr);
  const outA = path.join(root, 'a.json');
  const outB = path.join(root, 'b.json');
  const common = ['eval', '--model', ckpt, '--tasks', 'add:1-2,sort:2', '--k', '3', '--limit', '5', '--max-new-tokens', '12', '--seed', '4'];
  const [a, b] = await Promise.all([rlmesh(...common, '--out', outA), rlmesh(...common, '--out', outB)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /^overall +5 +15 /m);
  assert.match(a.stdout, /pass@1%.*pass@3%/);
  assert.match(a.stdout, /^ {2}sort\/d2 /m);

  const file = JSON.parse(readFileSync(outA, 'utf8')) as EvalFile;
  const expectedTasks = listTasks({ suite: 'add:1-2,sort:2', split: 'heldout', limit: 5, seed: 4 });
  assert.equal(file.samples.length, 15, '5 tasks x k=3, nothing skipped');
  assert.deepEqual([...new Set(file.samples.map((s) => s.taskId))].sort(), expectedTasks.map((t) => t.taskId).sort());
  for (const s of file.samples) {
    assert.equal(typeof s.completion, 'string');
    assert.ok(s.length >= 1 && s.length <= 12, `length ${s.length}`);
    const r = verifyCompletion(taskFromId(s.taskId), s.completion, undefined, s.length);
    assert.equal(s.correct, r.correct, `${s.taskId}: ${JSON.stringify(s.completion)}`);
    assert.equal(s.reward, r.total);
  }
  const regraded = evaluateSamples(file.samples, [1, 3]);
  assert.deepEqual(file.report, regraded);
  assert.equal(file.report.overall.samples, 15);
  assert.ok(file.report.overall.accuracy <= 0.2, `an untrained model scores near zero (got ${file.report.overall.accuracy})`);
  assert.equal(file.temperature, 1, 'k > 1 samples at temperature 1 by default');
  const again = JSON.parse(readFileSync(outB, 'utf8')) as EvalFile;
  assert.deepEqual(again.samples, file.samples, 'the same seed reproduces every completion');
});

test('eval refuses bad flags naming them', async () => {
  const [tasks, k, limit, split, model] = await Promise.all([
    rlmesh('eval', '--model', ckpt, '--tasks', 'nonsense:1', '--k', '2'),
    rlmesh('eval', '--model', ckpt, '--tasks', 'add:1', '--k', '0'),
    rlmesh('eval', '--model', ckpt, '--tasks', 'add:1', '--limit', '20000'),
    rlmesh('eval', '--model', ckpt, '--tasks', 'add:1', '--split', 'test'),
    rlmesh('eval', '--model', path.join(root, 'missing'), '--tasks', 'add:1'),
  ]);
  for (const r of [tasks, k, limit, split, model]) assert.equal(r.code, 1, r.stdout);
  assert.match(tasks.stderr, /--tasks: .*unknown category or suite "nonsense"/);
  assert.match(k.stderr, /--k: must be >= 1/);
  assert.match(limit.stderr, /--limit: must be <= 10000/);
  assert.match(split.stderr, /--split: unknown split "test"/);
  assert.match(model.stderr, /missing/);
});

test('eval and compare check what would fail at the end before any sampling or training', async () => {
  const [folder, compare, seed] = await Promise.all([
    rlmesh('eval', '--model', ckpt, '--tasks', 'add:1', '--out', root),
    rlmesh('compare', '--configs', 'examples/opd.yaml', path.join(root, 'missing.yaml'), '--target', '0.5'),
    rlmesh('eval', '--model', ckpt, '--tasks', 'add:1', '--seed', '4294967296'),
  ]);
  for (const r of [folder, compare, seed]) assert.equal(r.code, 1, r.stdout);
  assert.match(folder.stderr, /--out: .* is a folder/);
  // the first config was not trained first: nothing of it was printed
  assert.match(compare.stderr, /missing\.yaml: file not found/);
  assert.doesNotMatch(compare.stdout + compare.stderr, /compare opd/);
  assert.match(seed.stderr, /--seed: must be <= 4294967295/);
});
