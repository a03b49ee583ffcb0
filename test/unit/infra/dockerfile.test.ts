// infra/Dockerfile (no Docker daemon here, so read statically): multi-stage, production dependencies only, non-root,
// `node bin/rlmesh.mjs` entrypoint; its COPY sources exist and survive .dockerignore; runtime code imports only
// packages the image installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO, readRepoFile } from './manifests.ts';

interface Stage { name: string; from: string; lines: string[] }

/** Splits a Dockerfile into stages of logical lines (continuations joined, comments dropped). */
function stages(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of logical) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (m) out.push({ name: m[2] ?? String(out.length), from: m[1]!, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const pkg = JSON.parse(readRepoFile('package.json')) as {
  dependencies: Record<string, string>; devDependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
};
const all = stages(readRepoFile('infra/Dockerfile'));
const runtime = all.at(-1)!;

test('multi-stage on Node 20 slim; the final stage installs production dependencies only and runs as non-root', () => {
  assert.ok(all.length >= 2, 'multi-stage');
  const nodeArg = /ARG NODE_IMAGE=(\S+)/.exec(readRepoFile('infra/Dockerfile'))?.[1] ?? '';
  assert.match(nodeArg, /^node:20[.\d]*-\w+-slim$/);
  const ci = runtime.lines.filter((l) => /\bnpm ci\b/.test(l));
  assert.equal(ci.length, 1);
  assert.match(ci[0]!, /--omit=dev/);
  // esbuild's platform binary (tsx runs every .ts file through it) is an optional dependency: --omit=optional drops it
  assert.doesNotMatch(ci[0]!, /--omit=optional/, 'the image keeps optional dependencies such as @esbuild/<platform>');
  const user = runtime.lines.filter((l) => l.startsWith('USER ')).at(-1);
  const uid = Number(user?.split(/\s+/)[1]?.split(':')[0]);
  assert.ok(uid > 0, `numeric non-root USER (Kubernetes runAsNonRoot checks the uid), got ${user}`);
  assert.ok(runtime.lines.includes('ENTRYPOINT ["node", "bin/rlmesh.mjs"]'));
  const cmd = runtime.lines.find((l) => l.startsWith('CMD '));
  assert.deepEqual(JSON.parse(cmd!.slice(4)).slice(0, 2), ['serve', 'gateway']);
  assert.ok(runtime.lines.some((l) => /COPY --from=check /.test(l)), 'the runtime stage depends on the type-check stage');
});

test('tsx (needed at run time by bin/rlmesh.mjs) is a production dependency', () => {
  assert.ok(pkg.dependencies.tsx, 'tsx in dependencies');
  assert.equal(pkg.devDependencies?.tsx, undefined);
  assert.match(readRepoFile('bin/rlmesh.mjs'), /from 'tsx\/esm\/api'/);
});

/** .dockerignore patterns as top-level prefixes (the file only uses plain names and **\/*.ext). */
const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('**'));

test('every COPY source exists and is not excluded by .dockerignore', () => {
  for (const stage of all) {
    for (const line of stage.lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const args = line.split(/\s+/).slice(1).filter((a) => !a.startsWith('--'));
      for (const src of args.slice(0, -1)) {
        assert.ok(existsSync(path.join(REPO, src)), `${stage.name}: COPY ${src} exists`);
        assert.ok(!ignored.some((p) => src === p || src.startsWith(`${p}/`)), `${stage.name}: ${src} is dockerignored`);
      }
    }
  }
  for (const needed of ['package.json', 'package-lock.json', 'bin', 'src', 'services', 'proto']) {
    assert.ok(runtime.lines.some((l) => l.startsWith('COPY ') && l.split(/\s+/).includes(needed)), `runtime copies ${needed}`);
  }
});

function codeFiles(dir: string): string[] {
  const abs = path.join(REPO, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((n) => {
    const rel = path.join(dir, n);
    return statSync(path.join(REPO, rel)).isDirectory() ? codeFiles(rel) : /\.(ts|mjs|js)$/.test(n) ? [rel] : [];
  });
}

test('code in the image imports only production dependencies; optional ones only through dynamic import()', () => {
  const builtins = new Set(builtinModules);
  // What `npm ci --omit=dev` puts at the top of node_modules: lockfile entries not marked dev (optional ones are
  // left out of the CPU image too). Transitive packages count: hoisting puts them there.
  const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  const prod = new Set<string>();
  const optional = new Set<string>();
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || key.lastIndexOf('node_modules/') !== 0 || entry.dev) continue;
    (entry.optional ? optional : prod).add(key.slice('node_modules/'.length));
  }
  for (const name of Object.keys(pkg.dependencies)) assert.ok(prod.has(name), `lockfile installs ${name} in production`);
  const problems: string[] = [];
  for (const file of ['bin', 'src', 'services'].flatMap(codeFiles)) {
    const text = readFileSync(path.join(REPO, file), 'utf8');
    const imports = [
      ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((m) => ({ spec: m[1]!, dynamic: false })),
      ...[...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => ({ spec: m[1]!, dynamic: false })),
      ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ spec: m[1]!, dynamic: true })),
    ];
    for (const { spec, dynamic } of imports) {
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (prod.has(name)) continue;
      if (optional.has(name) && dynamic) continue;
      problems.push(`${file}: ${dynamic ? 'import()' : 'import'} '${spec}' (${optional.has(name) ? 'optional: use import()' : 'not installed by npm ci --omit=dev'})`);
    }
  }
  assert.deepEqual(problems, []);
});
