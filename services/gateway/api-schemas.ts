// Zod schemas of the gateway's HTTP API: request bodies are validated with them, responses are typed by them,
// and /openapi.json is generated from the same objects (openapi.ts).
import { z } from 'zod';
import { runConfigObject } from '../../src/config/index.ts';

/** `POST /runs` body: a run config as JSON (validated by runConfigSchema, then compiled). */
export const createRunBody = runConfigObject;

export const fieldIssue = z.object({
  /** Dotted path of the field, e.g. `learner.batch_size`; `(root)` for the body itself. */
  path: z.string(),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof fieldIssue>;

export const errorBody = z.object({
  error: z.object({ category: z.string(), message: z.string(), field: z.string().optional() }),
  /** Every field problem found (bad request bodies). */
  issues: z.array(fieldIssue).optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

export const createRunResponse = z.object({ runId: z.string(), state: z.string(), spawnedActors: z.boolean() });

export const workerView = z.object({
  /** Process label, e.g. `rollout-2`. */
  worker: z.string(),
  actor: z.string(),
  pid: z.number().int().nullable(),
  /** starting | ready | exited */
  process: z.enum(['starting', 'ready', 'exited']),
  /** gRPC health of the worker: SERVING | NOT_SERVING | UNKNOWN | unreachable | unknown (not probed yet). */
  health: z.string(),
  policyVersion: z.number().nullable(),
  /** Rate of the actor's main counter between the last two probes (see throughputUnit). */
  throughput: z.number().nullable(),
  throughputUnit: z.string(),
  exitCode: z.union([z.number(), z.string()]).nullable(),
});
export type WorkerView = z.infer<typeof workerView>;

export const runView = z.object({
  runId: z.string(),
  state: z.enum(['starting', 'running', 'finished', 'stopped', 'failed']),
  mode: z.string(),
  objective: z.string(),
  step: z.number(),
  steps: z.number(),
  policyVersion: z.number(),
  inFlight: z.number(),
  accounting: z.object({ dispatched: z.number(), completed: z.number(), droppedStale: z.number(), filtered: z.number(), rejected: z.number(), deadLettered: z.number(), redelivered: z.number() }),
  lastMetrics: z.record(z.number()),
  curriculum: z.array(z.object({ key: z.string(), probability: z.number() })),
  startedAt: z.number(),
  endedAt: z.number().optional(),
  error: z.string().optional(),
  workers: z.array(workerView),
});
export type RunView = z.infer<typeof runView>;

export const runList = z.object({ runs: z.array(runView) });

/** One metrics.jsonl line: `{ step, unix_ms, source, ...values }`. */
export const metricsPoint = z.object({ step: z.number(), unix_ms: z.number(), source: z.string() }).catchall(z.number());
export type MetricsPoint = z.infer<typeof metricsPoint>;

export const metricsResponse = z.object({ runId: z.string(), events: z.array(metricsPoint) });

export const metricsQuery = z.object({
  /** `1` streams Server-Sent Events (same as `Accept: text/event-stream`). */
  stream: z.enum(['0', '1']).optional(),
});

export const traceSummary = z.object({
  traceId: z.string(),
  /** Name of the earliest span. */
  root: z.string(),
  startUnixMs: z.number(),
  durationMs: z.number(),
  spans: z.number().int(),
  services: z.array(z.string()),
  /** Distinct (service, pid) pairs. */
  processes: z.number().int(),
  taskId: z.string().optional(),
});
export type TraceSummary = z.infer<typeof traceSummary>;

export const tracesQuery = z.object({
  /** Most traces returned, newest first. Default 50, at most 1000. */
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  /** Only traces with at least this many services. Default 1. */
  min_services: z.coerce.number().int().min(1).max(16).default(1),
});

export const traceList = z.object({
  runId: z.string(),
  traces: z.array(traceSummary),
  /** Set when spans go to an OTLP collector instead of span files (this list then only holds what files hold). */
  otlpEndpoint: z.string().optional(),
});

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()]))]);
export const spanView = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  name: z.string(),
  kind: z.string(),
  startUnixMs: z.number(),
  endUnixMs: z.number(),
  attributes: z.record(attributeValue),
  links: z.array(z.object({ traceId: z.string(), spanId: z.string(), attributes: z.record(attributeValue) })),
  status: z.object({ code: z.string(), message: z.string().optional() }),
  events: z.array(z.object({ name: z.string(), unixMs: z.number(), attributes: z.record(attributeValue) })),
  serviceName: z.string(),
  serviceInstanceId: z.string(),
  pid: z.number(),
});

export const traceDetail = z.object({ runId: z.string(), traceId: z.string(), spans: z.array(spanView) });

export const healthBody = z.object({ ok: z.boolean(), runs: z.number().int(), spawnActors: z.boolean() });
