// Tracks the long-lived streams of built-in services (health Watch, reflection) so drain can end them
// after health reports NOT_SERVING; otherwise a watching client would hold graceful shutdown open.
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

interface EndableCall {
  end(): void;
  once(event: string, listener: () => void): unknown;
}

export interface LongLivedCalls {
  /** A stand-in for `server` to pass to `addToServer(...)` of built-in services. */
  registrar: Pick<Server, 'addService'>;
  /** Ends every open tracked stream with status OK. */
  endAll(): void;
}

export function trackLongLivedCalls(server: Server): LongLivedCalls {
  const open = new Set<EndableCall>();
  const registrar: Pick<Server, 'addService'> = {
    addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
      const wrapped: UntypedServiceImplementation = {};
      // Implementations may use the method name ("Watch") or the camel-cased originalName ("watch").
      const methodOf = (key: string) => definition[key] ?? Object.values(definition).find((m) => m.originalName === key);
      for (const [key, handler] of Object.entries(implementation)) {
        if (!methodOf(key)?.responseStream) {
          wrapped[key] = handler;
          continue;
        }
        const streamHandler = handler as (call: EndableCall) => void;
        wrapped[key] = ((call: EndableCall) => {
          open.add(call);
          const forget = (): void => void open.delete(call);
          call.once('close', forget);
          call.once('finish', forget);
          call.once('cancelled', forget);
          streamHandler(call);
        }) as UntypedServiceImplementation[string];
      }
      server.addService(definition, wrapped);
    },
  };
  return {
    registrar,
    endAll: () => {
      for (const call of [...open]) {
        open.delete(call);
        call.end();
      }
    },
  };
}
