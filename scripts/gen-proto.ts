// Regenerates src/generated/ from proto/ (buf + ts-proto). Run: npm run gen [-- --out DIR]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outIdx = process.argv.indexOf('--out');
const args = ['buf', 'generate'];
if (outIdx > 0) args.push('--output', path.resolve(process.argv[outIdx + 1]!));
execFileSync('npx', args, { cwd: root, stdio: 'inherit' });
