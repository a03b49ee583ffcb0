// The one error root of rlmesh. Code throws these; boundaries (src/platform/errors-map.ts) map them to
// gRPC status codes, HTTP statuses and dead-letter reasons.

export const ErrorCategory = {
  /** Invalid user input: config files, request fields, CLI flags. */
  config: 'config',
  /** Malformed or inconsistent data: payloads, checkpoints, tensors. */
  data: 'data',
  /** NATS / gRPC / network failures; usually retryable. */
  transport: 'transport',
  /** Model/compute failures (backend unavailable, shape mismatch inside the engine). */
  engine: 'engine',
  /** A resource that does not exist (unknown task id, missing checkpoint). */
  notFound: 'not_found',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

export interface RlmeshErrorOptions {
  /** Dotted path of the offending field, e.g. "sampling.top_p" or "model.layers.0.q_proj.weight". */
  field?: string;
  /** Structured details safe to log and return to a client. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class RlmeshError extends Error {
  readonly category: ErrorCategory;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(category: ErrorCategory, message: string, options: RlmeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RlmeshError';
    this.category = category;
    this.field = options.field;
    this.details = options.details;
  }
}

/** Shorthand for the most common case: a request or config field is invalid. */
export function invalidField(field: string, message: string, details?: Record<string, unknown>): RlmeshError {
  return new RlmeshError(ErrorCategory.config, `${field}: ${message}`, { field, details });
}

export function isRlmeshError(e: unknown): e is RlmeshError {
  return e instanceof RlmeshError;
}
