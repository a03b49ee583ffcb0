// /openapi.json: an OpenAPI 3.0 document generated from the route table below and the zod schemas that
// validate requests and type responses (api-schemas.ts), so the document cannot drift from the code.
import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import * as S from './api-schemas.ts';

interface RouteDoc {
  method: 'get' | 'post';
  path: string;
  summary: string;
  /** Needs `Authorization: Bearer $RLMESH_API_TOKEN`. */
  auth?: boolean;
  body?: string;
  query?: ZodTypeAny;
  /** Component name of the 2xx JSON response; `text` for plain text. */
  response: string | 'text';
  status?: number;
  sse?: boolean;
}

/** Named schemas published under components.schemas. */
const COMPONENTS: Record<string, ZodTypeAny> = {
  RunConfig: S.createRunBody, CreateRunResponse: S.createRunResponse, RunView: S.runView, RunList: S.runList, WorkerView: S.workerView,
  MetricsResponse: S.metricsResponse, MetricsPoint: S.metricsPoint, TraceList: S.traceList, TraceDetail: S.traceDetail, Health: S.healthBody, Error: S.errorBody,
};

const ROUTES: RouteDoc[] = [
  { method: 'post', path: '/runs', summary: 'Start a run from a run config (JSON)', auth: true, body: 'RunConfig', response: 'CreateRunResponse', status: 201 },
  { method: 'get', path: '/runs', summary: 'List runs', response: 'RunList' },
  { method: 'get', path: '/runs/{id}', summary: 'State, step, policy version and workers of a run', response: 'RunView' },
  { method: 'post', path: '/runs/{id}/stop', summary: 'Stop a run (and its spawned actors)', auth: true, response: 'RunView' },
  { method: 'get', path: '/runs/{id}/metrics', summary: 'Metrics points; Server-Sent Events with Accept: text/event-stream or ?stream=1', query: S.metricsQuery, response: 'MetricsResponse', sse: true },
  { method: 'get', path: '/runs/{id}/traces', summary: 'Trace summaries from the run span files', query: S.tracesQuery, response: 'TraceList' },
  { method: 'get', path: '/runs/{id}/traces/{traceId}', summary: 'Spans of one trace', response: 'TraceDetail' },
  { method: 'get', path: '/healthz', summary: 'Liveness', response: 'Health' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', response: 'text' },
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ 'application/json': { schema: ref(name) } });

function toJsonSchema(schema: ZodTypeAny): Record<string, unknown> {
  const out = zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none', effectStrategy: 'input' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function queryParameters(schema: ZodTypeAny): unknown[] {
  const js = toJsonSchema(schema) as { properties?: Record<string, Record<string, unknown>> };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
}

function operation(r: RouteDoc): Record<string, unknown> {
  const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const ok = r.response === 'text'
    ? { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } }
    : { description: 'OK', content: { ...jsonContent(r.response), ...(r.sse ? { 'text/event-stream': { schema: { type: 'string', description: 'events: metrics (MetricsPoint), curriculum ({ step, curriculum }), status (RunView), end (RunView)' } } } : {}) } };
  const responses: Record<string, unknown> = { [String(r.status ?? 200)]: ok };
  if (r.body || r.query || pathParams.some((p) => p.name === 'traceId')) responses['400'] = { description: 'Invalid request; `issues` lists every field problem', content: jsonContent('Error') };
  if (r.body) responses['413'] = { description: 'Body larger than 1 MB', content: jsonContent('Error') };
  if (r.auth) responses['401'] = { description: 'Missing or wrong bearer token (or none configured)', content: jsonContent('Error') };
  if (pathParams.length > 0) responses['404'] = { description: 'Unknown run or trace', content: jsonContent('Error') };
  return {
    summary: r.summary,
    operationId: `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
    parameters: [...pathParams, ...(r.query ? queryParameters(r.query) : [])],
    ...(r.body ? { requestBody: { required: true, content: jsonContent(r.body) } } : {}),
    ...(r.auth ? { security: [{ bearer: [] }] } : {}),
    responses,
  };
}

/**
 * The run config's schema without the run id's default: that default is generated per request (a fresh id), and the
 * JSON schema would carry the one value generated when the document was built (a client filling in defaults would
 * send it every time: resuming an old run or refused as running).
 */
function runConfigSchema(): Record<string, unknown> {
  const schema = toJsonSchema(COMPONENTS.RunConfig!) as { properties: Record<string, Record<string, unknown>> };
  const runId = schema.properties.run_id!;
  delete runId.default;
  runId.description = 'Run id [A-Za-z0-9_-]{1,64} (names its NATS streams). Omitted: the gateway generates run-<utc time>-<hex>. An ended run\'s id resumes it.';
  return schema;
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) (paths[r.path] ??= {})[r.method] = operation(r);
  return {
    openapi: '3.0.3',
    info: { title: 'rlmesh gateway', version: '1', description: 'Control plane of rlmesh runs: start, watch, stop; metrics and traces.' },
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, s]) => [name, name === 'RunConfig' ? runConfigSchema() : toJsonSchema(s)])),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'RLMESH_API_TOKEN of the gateway' } },
    },
  };
}
