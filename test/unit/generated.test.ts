// The generated TypeScript in src/generated/ must match what `npm run gen` produces from proto/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  });
}

test('src/generated is up to date with proto/ (run `npm run gen` when this fails)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rlmesh-gen-'));
  execFileSync('npx', ['buf', 'generate', '--output', out], { stdio: 'pipe' });
  const fresh = path.join(out, 'src/generated');
  const committed = 'src/generated';
  assert.deepEqual(listFiles(committed).sort(), listFiles(fresh).sort(), 'generated file set differs');
  for (const f of listFiles(fresh)) {
    assert.equal(readFileSync(path.join(committed, f), 'utf8'), readFileSync(path.join(fresh, f), 'utf8'), `${f} is stale`);
  }
});
