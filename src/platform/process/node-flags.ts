// Node/V8 flags an actor process starts with (they must be given at start: the heap is configured before any code
// runs). The verifier allocates a few short-lived objects per trajectory at tens of thousands of trajectories a
// second; with a 32 MiB young generation (semi-space) instead of V8's default it scavenges far less often (its NATS
// worker: ~1.3x trajectories per CPU-second, `npm run bench:verifier`). Deployments set the same through NODE_OPTIONS
// (infra/k8s/base/verifier.yaml, docker-compose.yml).
export const ACTOR_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  verifier: ['--max-semi-space-size=32'],
};

/** The flags for a child started with `rlmesh <args>` (`serve <actor> ...`); none for other commands. */
export function nodeFlagsFor(args: readonly string[]): string[] {
  return args[0] === 'serve' ? [...(ACTOR_NODE_FLAGS[args[1] ?? ''] ?? [])] : [];
}
