// Builds the optional OpenBLAS addon (native/blas/build/Release/rlmesh_blas.node): `npm run build:native`.
// Needs gcc/make, Node's headers (Debian's nodejs ships them; found next to the running node) and Debian's
// OpenBLAS pthread build: apt-get install -y libopenblas-pthread-dev (what libopenblas-dev pulls in by default).
// Never run by `npm ci`: without the addon the engine keeps its XNNPACK products (src/engine/native-blas.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function fail(message) {
  console.error(`build:native: ${message}`);
  process.exit(1);
}

function multiarch() {
  try {
    return execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
  } catch {
    fail('gcc is missing (apt-get install -y build-essential)');
  }
}

const arch = multiarch();
const include = `/usr/include/${arch}/openblas-pthread`;
const lib = `/usr/lib/${arch}/openblas-pthread`;
if (!existsSync(path.join(include, 'cblas.h')) || !existsSync(path.join(lib, 'libopenblas.so'))) {
  fail(`OpenBLAS (pthread build) not found under ${include} and ${lib}: apt-get install -y libopenblas-pthread-dev`);
}

// Node's own headers (node-gyp would otherwise download them): <prefix>/include/node next to <prefix>/bin/node.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
if (!nodedir) console.error(`build:native: no Node headers under ${prefix}/include/node; node-gyp will try to download them`);

// node-gyp: the one npm puts on a script's PATH, else npm's bundled copy.
const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' }).status === 0;
if (!onPath && !existsSync(bundled)) fail('node-gyp not found (run through `npm run build:native`, or npm install -g node-gyp)');
const [cmd, pre] = onPath ? ['node-gyp', []] : [process.execPath, [bundled]];
const args = [...pre, 'rebuild', `--directory=${here}`, `--openblas_include=${include}`, `--openblas_lib=${lib}`, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(cmd, args, { stdio: 'inherit' });
if (r.status !== 0) fail(`node-gyp exited with ${r.status ?? r.signal}`);

const addon = createRequire(import.meta.url)(path.join(here, 'build', 'Release', 'rlmesh_blas.node'));
const info = addon.info();
console.error(`build:native: built ${path.relative(process.cwd(), path.join(here, 'build', 'Release', 'rlmesh_blas.node'))} (${info.config}; core ${info.core})`);
