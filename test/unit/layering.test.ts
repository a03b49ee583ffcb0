// Dependencies point one way: pure code (engine, objectives, curriculum, tasks) never imports platform,
// services or the CLI; platform never imports services or the CLI. See README "Layout".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const rules: Array<{ from: string[]; forbidden: string[] }> = [
  { from: ['src/engine', 'src/objectives', 'src/curriculum', 'src/tasks'], forbidden: ['src/platform', 'services', 'src/cli'] },
  { from: ['src/platform'], forbidden: ['services', 'src/cli'] },
  { from: ['services'], forbidden: ['src/cli'] },
];

test('imports only point down the layer table', () => {
  const violations: string[] = [];
  for (const rule of rules) {
    for (const file of rule.from.flatMap(tsFiles)) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
        const target = path.relative('.', path.resolve(path.dirname(file), m[1]!));
        if (rule.forbidden.some((f) => target === f || target.startsWith(f + '/'))) violations.push(`${file} -> ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
