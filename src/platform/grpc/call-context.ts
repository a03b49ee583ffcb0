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

/** Builds the context; `dispose` clears the deadline timer once the handler has finished. */
export function createCallContext(call: AnyServerCall, method: string): { ctx: CallContext; dispose: () => void } {
  const controller = new AbortController();
  const onCancel = (): void => controller.abort(new Error(`${method}: cancelled by the client or deadline`));
  call.on('cancelled', onCancel);
  const deadline = deadlineMs(call);
  // grpc-js also reports a passed deadline as 'cancelled'; the timer makes the signal exact and independent.
  const timer = Number.isFinite(deadline)
    ? setTimeout(() => controller.abort(new Error(`${method}: deadline exceeded`)), Math.max(0, deadline - Date.now()))
    : undefined;
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
    dispose: () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}
