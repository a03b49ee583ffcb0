// The dashboard's static files (services/gateway/dashboard/): `/` and `/dashboard/<file>`, from a fixed list.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { RlmeshError, ErrorCategory } from '../../../src/errors.ts';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dashboard');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const FILES = ['index.html', 'app.js', 'charts.js', 'waterfall.js', 'workers.js', 'api.js', 'style.css'] as const;

function serveFile(name: string): Response {
  if (!(FILES as readonly string[]).includes(name)) throw new RlmeshError(ErrorCategory.notFound, `no dashboard file "${name}"`, { field: 'file' });
  const body = readFileSync(path.join(DIR, name));
  return new Response(body, { headers: { 'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-cache' } });
}

export function dashboardRouter(): Hono {
  const app = new Hono();
  app.get('/', () => serveFile('index.html'));
  app.get('/dashboard/:file', (c) => serveFile(c.req.param('file')));
  return app;
}
