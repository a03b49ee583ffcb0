// Dependencies point one way: the computing layers (engine, objectives, curriculum, tasks, config, actors) never import platform,
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
  { from: ['src/engine', 'src/objectives', 'src/curriculum', 'src/tasks', 'src/config', 'src/actors'], forbidden: ['src/platform', 'services', 'src/cli'] },
  { from: ['src/engine', 'src/objectives', 'src/curriculum', 'src/tasks'], forbidden: ['src/config', 'src/actors'] },
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

// Packages: the computing layers never reach the network. The objectives, curricula, tasks and the run-config schema
// touch no I/O at all; the engine also owns model folders on local disk (safetensors checkpoints: node:fs) and its
// backend's set-up (worker threads, the CPU's feature flags), and the actors load a policy through it.
const NETWORK = [/^@nats-io\//, /^@grpc\//, /^@opentelemetry\//, /^hono/, /^node:(net|http|https|http2|dgram|tls|child_process)$/];
const LOCAL_IO = /^node:(fs|fs\/promises|os|worker_threads|module|url|path)$/;
const packageRules: Array<{ from: string[]; forbidden: RegExp[] }> = [
  { from: ['src/objectives', 'src/curriculum', 'src/tasks', 'src/config', 'src/actors'], forbidden: [...NETWORK, LOCAL_IO] },
  { from: ['src/engine'], forbidden: NETWORK },
];

test('the computing layers import no network package (and only the engine touches local files)', () => {
  const violations: string[] = [];
  for (const rule of packageRules) {
    for (const file of rule.from.flatMap(tsFiles)) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^.'"][^'"]*)['"]/g)) {
        if (rule.forbidden.some((re) => re.test(m[1]!))) violations.push(`${file} -> ${m[1]}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
