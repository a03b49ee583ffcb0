// `rlmesh report RUN_DIR` as a child process: rebuilds summary.md with SVG plots of the run curves and the
// before/after table from summary.json + metrics.jsonl (+ curriculum.jsonl); a folder without summary.json is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CLI = path.resolve('src/cli/main.ts');
const rlmesh = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

test('report regenerates summary.md with plots of every recorded curve', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-report-'));
  const summary = {
    runId: 'r1', mode: 'opd', objective: 'opd-reverse-kl', steps: 4, studentBefore: 0.25, studentAfter: 0.5, teacher: 0.9, heldoutTasks: 16, wallSeconds: 12,
    trace: { traces: 3, maxProcesses: 5, services: ['rlmesh-gateway', 'rlmesh-learner'], stepSpans: 4, stepLinks: 32 },
    accounting: { dispatched: 10, completed: 8, droppedStale: 1, deadLettered: 0 }, lastMetrics: {},
  };
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
  const lines = [1, 2, 3, 4].map((step) => JSON.stringify({ step, unix_ms: step, source: 'learner', reward: step / 10, accuracy: step / 8, reverse_kl: 1 / step, entropy: 0.5, response_length: 20 - step, tokens_per_s: 100 * step, dropped_stale_total: step > 2 ? 1 : 0 }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n{"step": 5, "unix_ms"'); // last line cut mid-write
  writeFileSync(path.join(dir, 'curriculum.jsonl'), [1, 2, 3, 4].map((step) => JSON.stringify({ step, curriculum: [{ key: 'add-d1', probability: 0.2 * step / 4 }, { key: 'add-d2', probability: 0.3 }, { key: 'sort-d3', probability: 1 - 0.3 - 0.2 * step / 4 }] })).join('\n') + '\n');

  const r = rlmesh('report', dir);
  assert.equal(r.status, 0, r.stderr);
  const md = readFileSync(path.join(dir, 'summary.md'), 'utf8');
  assert.match(md, /\| student before \| 25\.0% \|/);
  assert.match(md, /\| student after \| 50\.0% \(\+25\.0 points\) \|/);
  for (const id of ['reward', 'accuracy', 'reverse_kl', 'entropy', 'response_length', 'tokens_per_s', 'staleness', 'curriculum']) {
    assert.match(md, new RegExp(`\\(plots/${id}\\.svg\\)`), id);
  }
  assert.equal(readdirSync(path.join(dir, 'plots')).length, 8);
  const reward = readFileSync(path.join(dir, 'plots', 'reward.svg'), 'utf8');
  assert.match(reward, /^<svg xmlns/);
  assert.equal((/<path d="([^"]+)"/.exec(reward)![1]!.match(/[ML]/g) ?? []).length, 4, 'one vertex per recorded step');
  const curriculum = readFileSync(path.join(dir, 'plots', 'curriculum.svg'), 'utf8');
  assert.match(curriculum, /■ add/);
  assert.match(curriculum, /■ sort/);
  assert.equal((curriculum.match(/<path /g) ?? []).length, 2, 'arms grouped into one line per category');
});

test('report refuses a folder without summary.json with a clear message', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-report-empty-'));
  const r = rlmesh('report', dir);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /summary\.json not found/);
  const usage = rlmesh('report');
  assert.notEqual(usage.status, 0);
  assert.match(usage.stderr, /RUN_DIR/);
});

test('report refuses a summary.json that is not a run summary, naming the key', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-report-bad-'));
  const good = {
    runId: 'r1', mode: 'opd', objective: 'opd-reverse-kl', steps: 4, studentBefore: 0.25, studentAfter: 0.5, teacher: null, heldoutTasks: 16, wallSeconds: 12,
    trace: { traces: 0, maxProcesses: 0, services: [], stepSpans: 0, stepLinks: 0 }, accounting: {}, lastMetrics: {},
  };
  for (const [body, message] of [
    ['null', /summary\.json: Expected object, received null/],
    [JSON.stringify({ ...good, wallSeconds: undefined }), /"wallSeconds": Required/],
    [JSON.stringify({ ...good, studentBefore: 'a' }), /"studentBefore": Expected number, received string/],
  ] as const) {
    writeFileSync(path.join(dir, 'summary.json'), body);
    const r = rlmesh('report', dir);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /TypeError|at .*\.ts:\d+/, 'a message, not a stack trace');
  }
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(good));
  assert.equal(rlmesh('report', dir).status, 0, 'the summary as runs write it is accepted');
});
