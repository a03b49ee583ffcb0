// Public surface of the NATS platform: connection, run topology, typed publish/consume, dead letters, weights.
export type { NatsOptions, NatsTlsOptions } from './connection.ts';
export type { RunNames, StageNames } from './names.ts';
export type { ConsumerLimits, ProvisionOptions, StreamPlan } from './provision.ts';
export type { ProtoMessageType } from './proto-types.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export type { ConsumeCounters, ConsumeLoop, ConsumeOptions, MessageContext, ProtoHandler } from './consume.ts';
export type { DeadLetterSource } from './dead-letter.ts';
export type { WeightInfo, WeightStoreOptions } from './weight-store.ts';
export { compileNatsOptions, connectNats, DEFAULT_NATS_URL, describeNatsOptions, natsOptionsFromEnv } from './connection.ts';
export { ConsumerName, RUN_ID_PATTERN, runNames, Stage, validateRunId } from './names.ts';
export { deleteRun, planRun, provisionRun } from './provision.ts';
export { Header } from './headers.ts';
export { protoTypeName } from './proto-types.ts';
export { publishProto } from './publish.ts';
export { consumeProto } from './consume.ts';
export { deadLetterReason, publishDeadLetter } from './dead-letter.ts';
export { sha256Hex, WeightStore } from './weight-store.ts';
