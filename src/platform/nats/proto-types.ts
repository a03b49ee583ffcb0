// Protobuf message types that travel over NATS, and their full names for the `Rlmesh-Type` header.
import { MetricsEvent, RolloutTask, TaskFeedback, Trajectory, TrajectoryBatch, WeightsAnnouncement } from '../../generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../errors.ts';

/** What publish/consume need from a ts-proto message object (`Trajectory`, `RolloutTask`, ...). */
export interface ProtoMessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  /** the full protobuf name, for a reader of a known message that is not the generated object (TrajectoryBatchParts) */
  typeName?: string;
}

const known = new Map<object, string>([
  [RolloutTask, 'rlmesh.v1.RolloutTask'],
  [Trajectory, 'rlmesh.v1.Trajectory'],
  [TrajectoryBatch, 'rlmesh.v1.TrajectoryBatch'],
  [TaskFeedback, 'rlmesh.v1.TaskFeedback'],
  [MetricsEvent, 'rlmesh.v1.MetricsEvent'],
  [WeightsAnnouncement, 'rlmesh.v1.WeightsAnnouncement'],
]);

/** Full protobuf name of a NATS payload type; `override` wins, an unknown type without one is an error. */
export function protoTypeName<T>(type: ProtoMessageType<T>, override?: string): string {
  if (override) return override;
  const name = known.get(type) ?? type.typeName;
  if (!name) {
    throw new RlmeshError(ErrorCategory.config, 'unknown protobuf type for NATS: pass options.typeName', { field: 'typeName' });
  }
  return name;
}
