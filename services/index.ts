// The deployable actors by name: each module's `start(runtime)` adds its gRPC services and NATS workers.
import type { ActorRuntime } from './common/runtime.ts';

export interface ActorModule {
  /** Uses the model engine (the serve command initialises a backend first). */
  usesEngine: boolean;
  defaultPort: number;
  defaultMetricsPort: number;
  load(): Promise<{ start(rt: ActorRuntime): Promise<void> }>;
}

export const ACTORS: Record<string, ActorModule> = {
  rollout: { usesEngine: true, defaultPort: 50051, defaultMetricsPort: 9464, load: () => import('./rollout/main.ts') },
  teacher: { usesEngine: true, defaultPort: 50052, defaultMetricsPort: 9465, load: () => import('./teacher/main.ts') },
  verifier: { usesEngine: false, defaultPort: 50053, defaultMetricsPort: 9466, load: () => import('./verifier/main.ts') },
  learner: { usesEngine: true, defaultPort: 50054, defaultMetricsPort: 9467, load: () => import('./learner/main.ts') },
};
