// Retrying an idempotent NATS operation (a publish with a Nats-Msg-Id, an object put) across a broker outage:
// transport failures are retried with capped exponential backoff; data/config errors are thrown at once.
import { ErrorCategory, isRlmeshError } from '../../errors.ts';

export interface RetryOptions {
  /** give up (rethrow the last error) after this long, ms. Default 300000. */
  maxMs?: number;
  /** first delay, doubled per failure up to 5 s. Default 250. */
  initialMs?: number;
  /** stop retrying when aborted (rethrows the last error) */
  signal?: AbortSignal;
  /** told about each failed try */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** A data or config error: retrying or redelivering cannot help (retryTransient and consumeProto's default). */
export const isPermanentError = (err: unknown): boolean =>
  isRlmeshError(err) && (err.category === ErrorCategory.data || err.category === ErrorCategory.config);

/** Runs `fn` until it succeeds; only for operations that are safe to repeat (deduplicated or overwriting). */
export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.maxMs ?? 300_000);
  let delay = opts.initialMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (isPermanentError(err) || Date.now() + delay > deadline || opts.signal?.aborted) throw err;
      opts.onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(5000, delay * 2);
    }
  }
}
