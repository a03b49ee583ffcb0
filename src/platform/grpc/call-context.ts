// The context every rlmesh gRPC handler receives: an AbortSignal that fires on client cancel or deadline,
// the deadline, request metadata and the peer address.
import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';

export interface CallContext {
  /** Aborted when the client cancels, the deadline passes, or the server is force-stopped. */
  signal: AbortSignal;
  /** Absolute deadline in ms since epoch; Infinity when the client set none. */
  deadline: number;
  metadata: Metadata;
  peer: string;
  /** Full method path, e.g. `/rlmesh.v1.VerifierReward/Verify`. */
  method: string;
}

type AnyServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function deadlineMs(call: AnyServerCall): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : Infinity;
}

/** Why a call's signal fired. */
export type AbortCause = 'deadline' | 'cancelled';

/** grpc-js reports a passed deadline as 'cancelled' too; a cancel this close to the deadline counts as one. */
const DEADLINE_SLACK_MS = 20;

/**
 * Builds the context; `abortCause()` says why the signal fired (undefined while it has not); `dispose` clears
 * the deadline timer once the handler has finished.
 */
export function createCallContext(
  call: AnyServerCall,
  method: string,
): { ctx: CallContext; abortCause: () => AbortCause | undefined; dispose: () => void } {
  const controller = new AbortController();
  const deadline = deadlineMs(call);
  let cause: AbortCause | undefined;
  const abort = (why: AbortCause): void => {
    if (cause) return;
    cause = why;
    controller.abort(new Error(`${method}: ${why === 'deadline' ? 'deadline exceeded' : 'cancelled by the client'}`));
  };
  const onCancel = (): void => abort(Date.now() >= deadline - DEADLINE_SLACK_MS ? 'deadline' : 'cancelled');
  call.on('cancelled', onCancel);
  // The timer makes the signal exact even if the transport's own deadline handling is late.
  const timer = Number.isFinite(deadline) ? setTimeout(() => abort('deadline'), Math.max(0, deadline - Date.now())) : undefined;
  if (call.cancelled) onCancel();
  let peer = 'unknown';
  try {
    peer = call.getPeer();
  } catch {
    // getPeer throws once the underlying stream is gone; the peer is informational only.
  }
  const ctx: CallContext = { signal: controller.signal, deadline, metadata: call.metadata, peer, method };
  return {
    ctx,
    abortCause: () => cause,
    dispose: () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}
