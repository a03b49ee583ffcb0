// Public surface of the NATS platform: connection, run topology, typed publish/consume, dead letters, weights.
export type { NatsOptions, NatsTlsOptions } from './connection.ts';
export type { RunNames, StageNames } from './names.ts';
export type { ConsumerLimits, ProvisionOptions, StreamPlan } from './provision.ts';
export type { ProtoMessageType } from './proto-types.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export type { BatchPublishItem, BatchPublishOptions } from './publish-batch.ts';
export type { BatchItem, ConsumeCounters, ConsumeLoop, ConsumeOptions, MessageContext, ProtoBatchHandler, ProtoHandler } from './consume.ts';
export type { DeadLetterSource, DeadTrajectory, DeliveredMessage } from './dead-letter.ts';
export type { CarriedFields, EncodedTrajectory, TrajectoryBatchPublishOptions, TrajectoryParts, TrajectorySummaries } from './trajectory-batch.ts';
export type { SummaryOptions, TrajectorySummary } from './trajectory-wire.ts';
export type { WeightInfo, WeightStoreOptions } from './weight-store.ts';
export type { RetryOptions } from './retry.ts';
export { compileNatsOptions, connectNats, DEFAULT_NATS_URL, describeNatsOptions, natsOptionsFromEnv } from './connection.ts';
export { ConsumerName, RUN_ID_PATTERN, runNames, Stage, validateRunId } from './names.ts';
export { byteLimitIsSafe, byteLimitWarning, deleteRun, planRun, provisionRun, serverVersionOf, waitForRun } from './provision.ts';
export { Header } from './headers.ts';
export { protoTypeName } from './proto-types.ts';
export { publishProto } from './publish.ts';
export { publishProtoBatch } from './publish-batch.ts';
export { redeliveriesOf } from './redeliveries.ts';
export { isPermanentError, retryTransient } from './retry.ts';
export { consumeProto } from './consume.ts';
export { deadLetterReason, deadLetterWeight, publishDeadLetter, publishDeadTrajectory } from './dead-letter.ts';
export {
  carriesOf, countTrajectories, encodeTails, joinTrajectories, publishTrajectoryBatch, splitTrajectoryBatch, TRAJECTORY_BATCH_TYPE, trajectoryBatchMsgId,
  TrajectoryBatchParts, trajectoryBatchSummaries, withFields, withFieldsEach,
} from './trajectory-batch.ts';
export { readTrajectorySummary } from './trajectory-wire.ts';
export { lastAnnouncement, sha256Hex, WeightStore } from './weight-store.ts';
