// `rlmesh methods` as a child process: every registered name appears by family, defaults match the schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { z } from 'zod';
import { methodRegistry } from '../../../src/objectives/index.ts';
import { batchFilters, curricula } from '../../../src/curriculum/index.ts';
import type { MethodsListing } from '../../../src/cli/commands/methods.ts';

const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/rlmesh.mjs', 'methods', ...args], { encoding: 'utf8' });

const registries: Record<string, Record<string, { params: z.AnyZodObject }>> = {
  ...(methodRegistry as unknown as Record<string, Record<string, { params: z.AnyZodObject }>>),
  curriculum: curricula,
  batch_filter: batchFilters,
};

test('--json lists every method of every family with the schema defaults', () => {
  const listing = JSON.parse(cli('--json')) as MethodsListing;
  assert.deepEqual(Object.keys(listing.families).sort(), Object.keys(registries).sort());
  for (const [family, record] of Object.entries(registries)) {
    const entries = listing.families[family]!;
    assert.deepEqual(entries.map((e) => e.name), Object.keys(record), family);
    for (const e of entries) {
      const defaults = record[e.name]!.params.parse({}) as Record<string, unknown>;
      const listed = Object.fromEntries(e.params.map((p) => [p.name, p.default]));
      assert.deepEqual(listed, JSON.parse(JSON.stringify(defaults)), `${family}/${e.name}`);
      assert.ok(e.summary.length > 10);
    }
  }
  const sec = listing.families.curriculum!.find((e) => e.name === 'sec')!;
  assert.equal(sec.kind, 'sampler');
  assert.deepEqual(sec.params.find((p) => p.name === 'alpha'), { name: 'alpha', type: 'number', constraint: '> 0, <= 1', default: 0.5, nullable: false });
});

test('plain output names every method under its family heading', () => {
  const text = cli();
  for (const heading of ['objectives', 'token selectors', 'entropy control', 'reward shaping', 'curricula', 'batch filters']) assert.match(text, new RegExp(`^${heading}`, 'm'));
  for (const record of Object.values(registries)) for (const name of Object.keys(record)) assert.match(text, new RegExp(`^  ${name}( \\[|  -)`, 'm'), name);
  assert.match(text, /^ {6}tau {2,}number \(> 0\) {2,}default 0\.1$/m, 'cures tau line');
});

test('an unknown flag exits non-zero with a message naming it', () => {
  assert.throws(() => execFileSync(process.execPath, ['bin/rlmesh.mjs', 'methods', '--yaml'], { encoding: 'utf8', stdio: 'pipe' }), /--yaml: unknown flag/);
});

test('methods a run config refuses are listed as library only, with the reason, and the refusal matches', async () => {
  const { listAllMethods } = await import('../../../src/cli/commands/methods.ts');
  const { compileRunConfig, NOT_IN_RUNS } = await import('../../../src/config/index.ts');
  const all = Object.values(listAllMethods().families).flat();
  for (const [name, why] of Object.entries(NOT_IN_RUNS)) {
    const entry = all.find((m) => m.name === name);
    assert.ok(entry, name);
    assert.ok(entry.summary.endsWith(`[library only, refused in a run config: ${why}]`), entry.summary);
  }
  assert.throws(() => compileRunConfig({ mode: 'rlvr', entropy_control: { name: 'aepo' } }), (e: unknown) => e instanceof Error && e.message.includes(NOT_IN_RUNS.aepo!));
  assert.equal(all.filter((m) => m.summary.includes('library only')).length, Object.keys(NOT_IN_RUNS).length);
});
