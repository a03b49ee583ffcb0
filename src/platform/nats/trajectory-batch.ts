// The payload of the trajectory streams (rollouts, rewarded, scored): one TrajectoryBatch per message. Read as
// parts (each trajectory decoded, with its own encoded bytes, so a stage can forward a trajectory with a field
// appended instead of re-encoding its arrays, and dead-letter one with its original bytes); written from encoded
// trajectories, split into messages under the connection's max payload, each with a Nats-Msg-Id derived from its
// trajectory ids (a repeated publish, or a redelivered input handled again, is deduplicated).
import { createHash } from 'node:crypto';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { Trajectory } from '../../generated/rlmesh/v1/common.ts';
import { injectTraceHeaders, isTelemetryActive } from '../telemetry/index.ts';
import { Header } from './headers.ts';
import type { ProtoMessageType } from './proto-types.ts';
import type { PublishResult } from './publish.ts';

export const TRAJECTORY_BATCH_TYPE = 'rlmesh.v1.TrajectoryBatch';

/** A decoded TrajectoryBatch: trajectory i and its bytes as received (a view into the message, not a copy). */
export interface TrajectoryParts {
  trajectories: Trajectory[];
  encoded: Uint8Array[];
}

/** One trajectory to publish: its id (for the message's dedupe id) and its encoded bytes. */
export interface EncodedTrajectory {
  id: string;
  data: Uint8Array;
}

const BATCH_FIELD_TAG = (1 << 3) | 2; // TrajectoryBatch.trajectories: field 1, length-delimited

/** The encoded trajectories of a TrajectoryBatch message, in order (views into bytes); malformed -> throws. */
export function splitTrajectoryBatch(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === BATCH_FIELD_TAG) {
      const len = reader.uint32();
      const start = reader.pos;
      if (start + len > reader.len) throw new Error(`trajectory ${out.length} claims ${len} bytes, ${reader.len - start} left`);
      out.push(bytes.subarray(start, start + len));
      reader.pos = start + len;
    } else {
      if ((tag & 7) === 4 || tag >>> 3 === 0) throw new Error(`invalid tag ${tag}`);
      reader.skip(tag & 7, tag >>> 3);
      if (reader.pos > reader.len) throw new Error('premature end of message');
    }
  }
  return out;
}

/** How many trajectories a TrajectoryBatch message holds (no trajectory is decoded); malformed -> throws. */
export function countTrajectories(bytes: Uint8Array): number {
  return splitTrajectoryBatch(bytes).length;
}

/** A TrajectoryBatch message of already encoded trajectories (the bytes `TrajectoryBatch.encode` would give). */
export function joinTrajectories(parts: readonly Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  for (const p of parts) w.uint32(BATCH_FIELD_TAG).bytes(p);
  return w.finish();
}

/**
 * Decodes/encodes a TrajectoryBatch as parts (for consumeProto / publish). A trajectory that cannot be decoded makes
 * the whole message undecodable (it is dead-lettered whole).
 */
export const TrajectoryBatchParts: ProtoMessageType<TrajectoryParts> = {
  decode(input: Uint8Array): TrajectoryParts {
    const encoded = splitTrajectoryBatch(input);
    const trajectories = new Array<Trajectory>(encoded.length);
    for (let i = 0; i < encoded.length; i++) {
      try {
        trajectories[i] = Trajectory.decode(encoded[i]!);
      } catch (err) {
        throw new Error(`trajectories[${i}]: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return { trajectories, encoded };
  },
  encode(value: TrajectoryParts) {
    return { finish: () => joinTrajectories(value.encoded) };
  },
};

const emptyTrajectory = Trajectory.fromPartial({});

/**
 * A trajectory's bytes with `fields` set, appending their encoding to `encoded` instead of re-encoding the whole
 * trajectory: protobuf keeps the last value of a scalar and of each map key, and merges a message field. So it is
 * exact for scalar and map fields, and for message fields (reward, teacher, task) the trajectory does not carry yet
 * (`current` says which it carries); otherwise it re-encodes `{ ...current, ...fields }`.
 */
export function withFields(encoded: Uint8Array, current: Trajectory, fields: Partial<Trajectory>): Uint8Array {
  if ((fields.reward && current.reward) || (fields.teacher && current.teacher) || (fields.task && current.task)) {
    return Trajectory.encode({ ...current, ...fields }).finish();
  }
  const tail = Trajectory.encode({ ...emptyTrajectory, ...fields }).finish();
  if (tail.length === 0) return encoded;
  const out = new Uint8Array(encoded.length + tail.length);
  out.set(encoded);
  out.set(tail, encoded.length);
  return out;
}

/**
 * Dedupe id of a message holding these trajectories at a stage: `<id>:<stage>` for one trajectory (as a single
 * trajectory's id always was), `<first id>+<n - 1>~<16 hex of sha256 over all ids>:<stage>` for several.
 */
export function trajectoryBatchMsgId(ids: readonly string[], stage: string): string {
  if (ids.length === 1) return `${ids[0]}:${stage}`;
  const h = createHash('sha256');
  for (const id of ids) h.update(id).update('\n');
  return `${ids[0] ?? ''}+${Math.max(0, ids.length - 1)}~${h.digest('hex').slice(0, 16)}:${stage}`;
}

/** Room left for headers and framing under the server's max payload. */
const HEADER_ROOM = 8 << 10;

function maxPayloadOf(js: JetStreamClient): number {
  const nc = (js as { nc?: NatsConnection }).nc;
  const max = nc?.info?.max_payload;
  return typeof max === 'number' && max > HEADER_ROOM * 2 ? max - HEADER_ROOM : (1 << 20) - HEADER_ROOM;
}

/**
 * Consecutive runs of trajectories whose batch fits in maxBytes (a single larger trajectory is a run of its own; the
 * server refuses it as a transport error).
 */
export function chunkBySize(items: readonly EncodedTrajectory[], maxBytes: number): EncodedTrajectory[][] {
  const out: EncodedTrajectory[][] = [];
  let size = 0;
  for (const it of items) {
    const cost = it.data.length + 6; // tag + length varint (<= 5 bytes)
    const last = out[out.length - 1];
    if (last && size + cost <= maxBytes) {
      last.push(it);
      size += cost;
    } else {
      out.push([it]);
      size = cost;
    }
  }
  return out;
}

export interface TrajectoryBatchPublishOptions {
  /** the publishing stage, the suffix of each message's Nats-Msg-Id (`rollout`, `verifier`, `teacher`) */
  stage: string;
  /** PubAck timeout per message, ms. Default 10000. */
  timeoutMs?: number;
  /** largest message, bytes; default the connection's max payload less room for headers */
  maxBytes?: number;
}

/**
 * Publishes trajectories as TrajectoryBatch messages (usually one; more when they exceed the max payload), each with
 * its Nats-Msg-Id, `Rlmesh-Type` and, while tracing, the active context's W3C headers (the message-level trace; each
 * trajectory's own is in its trace_context). No span of its own: the caller's span covers it. Resolves with every
 * PubAck; a refused or unacknowledged message is a transport error (repeating the call is safe: deduplicated).
 */
export async function publishTrajectoryBatch(js: JetStreamClient, subject: string, items: readonly EncodedTrajectory[], opts: TrajectoryBatchPublishOptions): Promise<PublishResult[]> {
  if (items.length === 0) return [];
  const chunks = chunkBySize(items, opts.maxBytes ?? maxPayloadOf(js));
  const traced = isTelemetryActive();
  return Promise.all(chunks.map(async (chunk) => {
    const h = natsHeaders();
    h.set(Header.type, TRAJECTORY_BATCH_TYPE);
    if (traced) injectTraceHeaders(h);
    const msgId = trajectoryBatchMsgId(chunk.map((c) => c.id), opts.stage);
    try {
      const ack = await js.publish(subject, joinTrajectories(chunk.map((c) => c.data)), { msgID: msgId, headers: h, timeout: opts.timeoutMs ?? 10_000 });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw new RlmeshError(ErrorCategory.transport, `publish to ${subject} failed: ${err instanceof Error ? err.message : String(err)}`, {
        field: 'subject',
        details: { subject, msgId },
        cause: err,
      });
    }
  }));
}
