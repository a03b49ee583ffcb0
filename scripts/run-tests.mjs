// Finds test files under the given folders (default: test/) and runs them with node's test runner via tsx.
// Node 20 has no glob support in --test, hence this script. Usage: node scripts/run-tests.mjs [dir ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? find(p) : n.endsWith('.test.ts') ? [p] : [];
  });
}
const dirs = process.argv.slice(2);
const files = (dirs.length ? dirs : ['test']).flatMap(find).sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
