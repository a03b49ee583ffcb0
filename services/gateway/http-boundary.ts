// The HTTP boundary of the gateway: error responses (toHttpError plus the list of field issues), bearer-token
// auth for mutating endpoints, the body size limit and JSON body parsing.
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { toHttpError } from '../../src/platform/errors-map.ts';
import { invalidField, isRlmeshError } from '../../src/errors.ts';
import type { ErrorBody, FieldIssue } from './api-schemas.ts';

/** Largest request body accepted, bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

function issuesOf(err: unknown, fallback: ErrorBody['error']): FieldIssue[] | undefined {
  if (!isRlmeshError(err)) return undefined;
  const listed = err.details?.issues;
  if (Array.isArray(listed)) return listed.filter((i): i is FieldIssue => typeof i?.path === 'string' && typeof i?.message === 'string');
  const f = fallback.field;
  return f ? [{ path: f, message: fallback.message.startsWith(`${f}: `) ? fallback.message.slice(f.length + 2) : fallback.message }] : undefined;
}

/** `app.onError` handler: one mapping (toHttpError); 400s also list every field problem under `issues`. */
export function errorResponse(err: unknown, c: Context): Response {
  const { status, body } = toHttpError(err);
  const out: ErrorBody = { error: body.error };
  const issues = status === 400 ? issuesOf(err, body.error) : undefined;
  if (issues) out.issues = issues;
  return c.json(out, status as 400);
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Requires `Authorization: Bearer <token>` on POST/PUT/PATCH/DELETE. Without a configured token every
 * mutating call is refused (401), so a gateway never runs open by accident.
 */
export function requireBearer(token: string | undefined): MiddlewareHandler {
  return async function bearerAuth(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return next();
    const header = c.req.header('authorization') ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    let message: string | undefined;
    if (!token) message = 'mutating endpoints are disabled: the gateway has no RLMESH_API_TOKEN';
    else if (!given) message = 'missing Authorization: Bearer <token>';
    else if (!sameToken(given, token)) message = 'wrong bearer token';
    if (message) {
      c.header('WWW-Authenticate', 'Bearer realm="rlmesh"');
      const body: ErrorBody = { error: { category: 'unauthorized', message, field: 'authorization' } };
      return c.json(body, 401);
    }
    return next();
  };
}

/** Bodies declared larger than this are refused without reading them (the connection closes). */
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

/**
 * 413 JSON for bodies over MAX_BODY_BYTES. Moderately large bodies are read to the end first so that the
 * client sees the answer instead of a reset connection; declared sizes past DRAIN_LIMIT_BYTES are refused at once.
 */
export function limitBody(): MiddlewareHandler {
  const tooLarge = (c: Context) => {
    const body: ErrorBody = { error: { category: 'config', message: `body: larger than ${MAX_BODY_BYTES} bytes`, field: 'body' } };
    return c.json(body, 413);
  };
  const streamLimit = bodyLimit({ maxSize: DRAIN_LIMIT_BYTES, onError: tooLarge });
  return async function limitRequestBody(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return streamLimit(c, async () => {
      const bytes = await c.req.arrayBuffer(); // cached: handlers read it again with c.req.text()
      if (bytes.byteLength > MAX_BODY_BYTES) return void (c.res = tooLarge(c));
      await next();
    });
  };
}

/** The request body as a JSON object; empty, malformed or non-object bodies are a config error naming `body`. */
export async function readJsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') throw invalidField('body', 'expected a JSON object (a run config), got an empty body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidField('body', `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  // `null`, an array or a scalar is valid JSON but no run config (null would otherwise start a default run).
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidField('body', `expected a JSON object (a run config), got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
