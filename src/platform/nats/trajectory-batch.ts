// The payload of the trajectory streams (rollouts, rewarded, scored): one TrajectoryBatch per message. Read as
// parts (each trajectory decoded, or only summarised: trajectory-wire.ts, with its own encoded bytes, so a stage can
// forward a trajectory with fields appended instead of re-encoding its arrays, and dead-letter one with its original
// bytes); written from encoded trajectories (+ appended fields), split into messages under the connection's max
// payload, each with a Nats-Msg-Id derived from its trajectory ids (a repeated publish, or a redelivered input handled
// again, is deduplicated).
import { createHash } from 'node:crypto';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Trajectory, TrajectoryBatch } from '../../generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import type { ProtoMessageType } from './proto-types.ts';
import type { PublishResult } from './publish.ts';
import { connectionOf, publishProtoBatch } from './publish-batch.ts';
import { emptySummary, readTrajectorySummary, type CarriedFields, type SummaryOptions, type TrajectorySummary } from './trajectory-wire.ts';

export const TRAJECTORY_BATCH_TYPE = 'rlmesh.v1.TrajectoryBatch';

/** A decoded TrajectoryBatch: trajectory i and its bytes as received (a view into the message, not a copy). */
export interface TrajectoryParts {
  trajectories: Trajectory[];
  encoded: Uint8Array[];
  /**
   * Trajectory index -> why its bytes are no Trajectory (say, an int64 past 2^53). Its entry in `trajectories` then
   * holds only an id (the one it carries when that can be read, else one made from its bytes): the consumer
   * dead-letters it on its own and the rest of the message flows on.
   */
  undecodable: ReadonlyMap<number, RlmeshError>;
}

/** A TrajectoryBatch read as summaries: trajectory i's summary and its bytes as received. */
export interface TrajectorySummaries {
  summaries: TrajectorySummary[];
  encoded: Uint8Array[];
  /** as TrajectoryParts.undecodable: index -> why it cannot be read (its summary then holds only an id) */
  undecodable: ReadonlyMap<number, RlmeshError>;
}

/** One trajectory to publish: its id (for the message's dedupe id), its encoded bytes and fields appended to them. */
export interface EncodedTrajectory {
  id: string;
  data: Uint8Array;
  /** encoded fields appended to data (encodeTails); the trajectory is data + tail */
  tail?: Uint8Array;
}

export type { CarriedFields };

export const carriesOf = (t: Trajectory): CarriedFields => ({ reward: t.reward !== undefined, teacher: t.teacher !== undefined, task: t.task !== undefined });

const BATCH_FIELD_TAG = (1 << 3) | 2; // TrajectoryBatch.trajectories: field 1, length-delimited

/** The encoded trajectories of a TrajectoryBatch message, in order (views into bytes); malformed -> throws. */
export function splitTrajectoryBatch(input: Uint8Array): Uint8Array[] {
  // Plain Uint8Array views: a Buffer's subarray (what nats.js hands over) costs several times more, once per field read.
  const bytes = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
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

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/**
 * A TrajectoryBatch message of already encoded trajectories, trajectory i being parts[i] followed by tails?.[i] (the
 * bytes `TrajectoryBatch.encode` would give for the decoded trajectories); one allocation, one copy of each part.
 */
export function joinTrajectories(parts: readonly Uint8Array[], tails?: ReadonlyArray<Uint8Array | undefined>): Uint8Array {
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const len = parts[i]!.length + (tails?.[i]?.length ?? 0);
    total += 1 + varintSize(len) + len;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const t = tails?.[i];
    let len = p.length + (t?.length ?? 0);
    out[pos++] = BATCH_FIELD_TAG;
    while (len >= 0x80) {
      out[pos++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    out[pos++] = len;
    out.set(p, pos);
    pos += p.length;
    if (t) {
      out.set(t, pos);
      pos += t.length;
    }
  }
  return out;
}

/**
 * Each encoded trajectory of a TrajectoryBatch message read with `read`, with its bytes. Broken framing makes the whole
 * message undecodable (it is dead-lettered whole); a trajectory that cannot be read is set aside by index, with the
 * stand-in `placeholder` makes from its bytes, and the others are read.
 */
function readEach<R>(input: Uint8Array, read: (encoded: Uint8Array) => R, placeholder: (encoded: Uint8Array) => R): { read: R[]; encoded: Uint8Array[]; undecodable: Map<number, RlmeshError> } {
  const encoded = splitTrajectoryBatch(input);
  const undecodable = new Map<number, RlmeshError>();
  const out = encoded.map((e, i) => {
    try {
      return read(e);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      undecodable.set(i, new RlmeshError(ErrorCategory.data, `trajectories[${i}]: not a Trajectory: ${reason}`, { field: `trajectories.${i}` }));
      return placeholder(e);
    }
  });
  return { read: out, encoded, undecodable };
}

/**
 * The id an undecodable trajectory carries when its id field can be read, else `undecodable-<16 hex of sha256 of its
 * bytes>` (stable across redeliveries, so its dead letter is deduplicated like any other).
 */
function idOfUndecodable(encoded: Uint8Array): string {
  try {
    const id = readTrajectorySummary(encoded).trajectoryId;
    if (id) return id;
  } catch {
    // unreadable: named by its bytes
  }
  return `undecodable-${createHash('sha256').update(encoded).digest('hex').slice(0, 16)}`;
}

/** The message of a batch read as parts: its trajectories' bytes joined again. */
const encodeParts = (value: { encoded: readonly Uint8Array[] }) => ({ finish: () => joinTrajectories(value.encoded) });

/** Decodes/encodes a TrajectoryBatch as parts (for consumeProto / publish). */
export const TrajectoryBatchParts: ProtoMessageType<TrajectoryParts> = {
  typeName: TRAJECTORY_BATCH_TYPE,
  decode(input: Uint8Array): TrajectoryParts {
    const { read, encoded, undecodable } = readEach(input, (e) => Trajectory.decode(e), (e) => Trajectory.fromPartial({ trajectoryId: idOfUndecodable(e) }));
    return { trajectories: read, encoded, undecodable };
  },
  encode: encodeParts,
};

/**
 * Trajectories read as summaries (trajectory-wire.ts: the fields a verifier needs, no array materialised), each with
 * its bytes. Malformed framing anywhere makes the whole message undecodable.
 */
export function trajectoryBatchSummaries(opts: SummaryOptions = {}): ProtoMessageType<TrajectorySummaries> {
  return {
    typeName: TRAJECTORY_BATCH_TYPE,
    decode(input: Uint8Array): TrajectorySummaries {
      const { read, encoded, undecodable } = readEach(input, (e) => readTrajectorySummary(e, opts), (e) => emptySummary(idOfUndecodable(e)));
      return { summaries: read, encoded, undecodable };
    },
    encode: encodeParts,
  };
}

const emptyTrajectory = Trajectory.fromPartial({});

/** Whether appending `fields` to a trajectory that carries `carries` is exact (see withFields). */
function appendable(carries: CarriedFields, fields: Partial<Trajectory>): boolean {
  return !((fields.reward && carries.reward) || (fields.teacher && carries.teacher) || (fields.task && carries.task));
}

/**
 * The encodings of `fields[i]` to append to trajectory i (all encoded in one pass, as one TrajectoryBatch of partial
 * trajectories split back into its parts). Protobuf keeps the last value of a scalar and of each map key and merges a
 * message field, so appending is exact for scalars, maps, and message fields the trajectory does not carry yet.
 */
export function encodeTails(fields: readonly Partial<Trajectory>[]): Uint8Array[] {
  return splitTrajectoryBatch(TrajectoryBatch.encode({ trajectories: fields.map((f) => ({ ...emptyTrajectory, ...f })) }).finish());
}

/**
 * A trajectory's bytes with `fields` set: `encoded` with their encoding appended when that is exact (see encodeTails;
 * `carries` says which message fields the trajectory has), else the trajectory decoded, updated and re-encoded.
 */
export function withFields(encoded: Uint8Array, carries: CarriedFields, fields: Partial<Trajectory>): Uint8Array {
  if (!appendable(carries, fields)) return Trajectory.encode({ ...Trajectory.decode(encoded), ...fields }).finish();
  const tail = Trajectory.encode({ ...emptyTrajectory, ...fields }).finish();
  if (tail.length === 0) return encoded;
  const out = new Uint8Array(encoded.length + tail.length);
  out.set(encoded);
  out.set(tail, encoded.length);
  return out;
}

/**
 * Trajectories to publish, each its received bytes with `fields` set: appended as a tail where that is exact (the
 * tails of all of them encoded in one pass, encodeTails), else decoded, updated and re-encoded (withFields).
 */
export function withFieldsEach(items: ReadonlyArray<{ id: string; encoded: Uint8Array; carries: CarriedFields; fields: Partial<Trajectory> }>): EncodedTrajectory[] {
  const out = new Array<EncodedTrajectory>(items.length);
  const tailed: number[] = [];
  const tails: Array<Partial<Trajectory>> = [];
  items.forEach(({ id, encoded, carries, fields }, i) => {
    if (appendable(carries, fields)) {
      out[i] = { id, data: encoded };
      tailed.push(i);
      tails.push(fields);
    } else {
      out[i] = { id, data: withFields(encoded, carries, fields) };
    }
  });
  const encodedTails = encodeTails(tails);
  tailed.forEach((i, k) => { out[i]!.tail = encodedTails[k]; });
  return out;
}

/**
 * Dedupe id of a message holding these trajectories at a stage: `<id>:<stage>` for one trajectory (as a single
 * trajectory's id always was), `<first id>+<n - 1>~<16 hex of sha256 over all ids>:<stage>` for several.
 */
export function trajectoryBatchMsgId(ids: readonly string[], stage: string): string {
  if (ids.length === 1) return `${ids[0]}:${stage}`;
  const hash = createHash('sha256').update(ids.join('\n')).digest('hex');
  return `${ids[0] ?? ''}+${Math.max(0, ids.length - 1)}~${hash.slice(0, 16)}:${stage}`;
}

/** Room left for headers and framing under the server's max payload. */
const HEADER_ROOM = 8 << 10;

function maxPayloadOf(js: JetStreamClient): number {
  const max = connectionOf(js)?.info?.max_payload;
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
    const cost = it.data.length + (it.tail?.length ?? 0) + 6; // tag + length varint (<= 5 bytes)
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
  /** how long the messages wait for their PubAcks, ms. Default 10000. */
  timeoutMs?: number;
  /** largest message, bytes; default the connection's max payload less room for headers */
  maxBytes?: number;
}

/**
 * Publishes trajectories as TrajectoryBatch messages (usually one; more when they exceed the max payload), each with
 * its Nats-Msg-Id, `Rlmesh-Type` and, while tracing, the active context's W3C headers (the message-level trace; each
 * trajectory's own is in its trace_context). No span of its own: the caller's span covers it. The messages leave in one
 * socket write and their PubAcks come back on the connection's shared reply subscription (publishProtoBatch: no
 * request object, timer or Error per message). Resolves with every PubAck; a refused or unacknowledged message is a
 * transport error (repeating the call is safe: deduplicated).
 */
export async function publishTrajectoryBatch(js: JetStreamClient, subject: string, items: readonly EncodedTrajectory[], opts: TrajectoryBatchPublishOptions): Promise<PublishResult[]> {
  if (items.length === 0) return [];
  const chunks = chunkBySize(items, opts.maxBytes ?? maxPayloadOf(js));
  const settled = await publishProtoBatch(js, subject, TrajectoryBatchParts, chunks.map((chunk) => ({
    value: { trajectories: [], encoded: [], undecodable: new Map() },
    data: joinTrajectories(chunk.map((c) => c.data), chunk.map((c) => c.tail)),
    msgId: trajectoryBatchMsgId(chunk.map((c) => c.id), opts.stage),
  })), { timeoutMs: opts.timeoutMs, spans: false });
  return settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
}
