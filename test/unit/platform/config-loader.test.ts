// Config loader: YAML/JSON by extension or sniffing; every issue listed as `path: message`, including
// unknown keys, wrong types and bad enum values with the allowed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RlmeshError } from '../../../src/errors.ts';
import { loadConfigFile, parseConfig } from '../../../src/platform/config/index.ts';

const Schema = z
  .object({
    name: z.string(),
    objective: z.enum(['opd', 'grpo', 'dapo']).default('grpo'),
    sampling: z.object({ temperature: z.number().positive().default(1), top_p: z.number().gt(0).lte(1).default(1) }).strict().default({}),
    tasks: z.array(z.object({ suite: z.string(), weight: z.number().default(1) }).strict()).default([]),
  })
  .strict();

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-config-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): RlmeshError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    assert.equal(e.category, 'config');
    return e;
  }
  assert.fail('expected a config error');
}

async function configErrorAsync(p: Promise<unknown>): Promise<RlmeshError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    assert.equal(e.category, 'config');
    return e;
  }
  assert.fail('expected a config error');
}

test('YAML file is parsed and defaulted', async () => {
  const cfg = await loadConfigFile(file('run.yaml', 'name: a\nsampling:\n  top_p: 0.9\ntasks:\n  - suite: add\n'), Schema);
  assert.deepEqual(cfg, { name: 'a', objective: 'grpo', sampling: { temperature: 1, top_p: 0.9 }, tasks: [{ suite: 'add', weight: 1 }] });
});

test('JSON by extension, and sniffed when the extension says nothing', async () => {
  assert.equal((await loadConfigFile(file('run.json', '{"name":"j","objective":"opd"}'), Schema)).objective, 'opd');
  assert.equal((await loadConfigFile(file('run.conf', '  {"name":"s"}'), Schema)).name, 's');
  assert.equal((await loadConfigFile(file('run.txt', 'name: y\n'), Schema)).name, 'y');
});

test('unknown keys are named with their full path', () => {
  const e = configError(() => parseConfig({ name: 'a', lr: 1, sampling: { top_k: 5 } }, Schema, 'inline'));
  assert.match(e.message, /^ {2}lr: unknown key$/m);
  assert.match(e.message, /^ {2}sampling\.top_k: unknown key$/m);
  assert.match(e.message, /inline/);
});

test('wrong types name the field, expected and received type; every issue is listed', () => {
  const e = configError(() => parseConfig({ name: 3, tasks: [{ suite: 'add' }, { suite: 'x', weight: 'heavy' }] }, Schema, 'inline'));
  assert.match(e.message, /^ {2}name: expected string, got number$/m);
  assert.match(e.message, /^ {2}tasks\.1\.weight: expected number, got string$/m);
  assert.equal(e.field, 'name');
  const issues = e.details?.issues as Array<{ path: string }>;
  assert.deepEqual(issues.map((i) => i.path).sort(), ['name', 'tasks.1.weight']);
});

test('a bad enum value lists the allowed values', () => {
  const e = configError(() => parseConfig({ name: 'a', objective: 'ppo' }, Schema, 'inline'));
  assert.match(e.message, /objective: must be one of "opd", "grpo", "dapo" \(got "ppo"\)/);
  assert.equal(e.field, 'objective');
});

test('range refinements and missing required fields are reported by path', () => {
  const e = configError(() => parseConfig({ sampling: { top_p: 1.5 } }, Schema, 'inline'));
  assert.match(e.message, /^ {2}name: is required$/m);
  assert.match(e.message, /^ {2}sampling\.top_p: .*1/m);
});

test('syntax errors and missing files are config errors naming the file', async () => {
  const bad = file('bad.yaml', 'name: [unclosed\n');
  assert.match((await configErrorAsync(loadConfigFile(bad, Schema))).message, /bad\.yaml: not valid YAML/);
  const badJson = file('bad.json', '{"name": }');
  assert.match((await configErrorAsync(loadConfigFile(badJson, Schema))).message, /bad\.json: not valid JSON/);
  const missing = path.join(dir, 'nope.yaml');
  assert.match((await configErrorAsync(loadConfigFile(missing, Schema))).message, /nope\.yaml: file not found/);
  assert.match((await configErrorAsync(loadConfigFile(file('empty.yaml', ''), Schema))).message, /\(root\): expected object, got null/);
});
