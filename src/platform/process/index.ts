// Public surface of local process management: actor child processes and a local NATS server.
export type { ActorProcess, ActorProcessOptions, SupervisorOptions } from './supervisor.ts';
export type { LocalNats } from './nats-server.ts';
export { Supervisor } from './supervisor.ts';
export { ACTOR_NODE_FLAGS, nodeFlagsFor } from './node-flags.ts';
export { ensureNats, freePort, portAnswers } from './nats-server.ts';
