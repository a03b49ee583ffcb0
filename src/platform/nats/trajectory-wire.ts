// A lean read of an encoded Trajectory for stages that do not need its token and log-prob arrays (the verifier):
// the fields it needs are decoded, every other field is stepped over (its framing checked, nothing allocated), and
// the trajectory's own bytes stay as they are to be forwarded with fields appended (field numbers from
// proto/rlmesh/v1/common.proto; test/unit/platform/trajectory-batch.test.ts checks this reader against the generated
// decoder).

/** Which singular message fields a trajectory carries (an appended one would merge into it). */
export interface CarriedFields {
  reward: boolean;
  teacher: boolean;
  task: boolean;
}

/** What a verifier reads of a trajectory. */
export interface TrajectorySummary {
  trajectoryId: string;
  /** Trajectory.task, reduced to its id and params (those asked for; absent when the trajectory has no task) */
  task: { taskId: string; params: Record<string, string> } | undefined;
  completionText: string;
  /** how many completion_token_ids it has */
  completionTokens: number;
  policyVersion: number;
  /** per-token entropies, read only when asked for (reward shaping); [] otherwise */
  entropies: number[];
  /** read only when asked for (tracing); {} otherwise */
  traceContext: Record<string, string>;
  /** which singular message fields it carries (an appended field would merge into them) */
  carries: CarriedFields;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const textDecoder = new TextDecoder();

/**
 * A cursor over protobuf wire bytes, bounds checked. `len()` leaves the payload of a length-delimited field in
 * [start, end) (no tuple allocated per field: this reader runs for every trajectory a verifier sees).
 */
class Wire {
  pos: number;
  start = 0;
  end = 0;

  constructor(readonly buf: Uint8Array, from: number, readonly limit: number) {
    this.pos = from;
  }

  varint(): number {
    const buf = this.buf;
    let b = this.pos < this.limit ? buf[this.pos++]! : this.eof();
    if (b < 0x80) return b;
    let result = b & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < 10; i++) {
      b = this.pos < this.limit ? buf[this.pos++]! : this.eof();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    throw new Error('varint too long');
  }

  /** An int64 varint as a number (two's complement for negatives, as forceLong=number gives). */
  int64(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }

  /** Steps over a length-delimited field, leaving its payload in [start, end). */
  len(): void {
    const n = this.varint();
    this.start = this.pos;
    this.end = this.pos + n;
    if (this.end > this.limit) throw new Error(`field claims ${n} bytes, ${this.limit - this.start} left`);
    this.pos = this.end;
  }

  string(): string {
    this.len();
    return this.start === this.end ? '' : textDecoder.decode(this.buf.subarray(this.start, this.end));
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_LEN:
        this.len();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType}`);
    }
    if (this.pos > this.limit) throw new Error('premature end of field');
  }

  private eof(): never {
    throw new Error('premature end of message');
  }
}

/** A map<string, string> entry (key = 1, value = 2) in [start, end). */
function mapEntry(buf: Uint8Array, start: number, end: number, into: Record<string, string>): void {
  const w = new Wire(buf, start, end);
  let key = '';
  let value = '';
  while (w.pos < w.limit) {
    const tag = w.varint();
    if (tag === 10) key = w.string();
    else if (tag === 18) value = w.string();
    else w.skip(tag & 7);
  }
  into[key] = value;
}

/** Whether buf[start, end) holds exactly the bytes of `key`. */
function bytesEqual(buf: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (buf[start + i] !== key[i]) return false;
  return true;
}

/** A map<string, string> entry in [start, end) into `into` when its key is one of `keys` (the key's bytes). */
function wantedEntry(buf: Uint8Array, start: number, end: number, keys: WantedKeys, into: Record<string, string>): void {
  const w = new Wire(buf, start, end);
  let keyStart = 0;
  let keyEnd = 0;
  let valueStart = 0;
  let valueEnd = 0;
  while (w.pos < w.limit) {
    const tag = w.varint();
    if (tag === 10) { w.len(); keyStart = w.start; keyEnd = w.end; }
    else if (tag === 18) { w.len(); valueStart = w.start; valueEnd = w.end; }
    else w.skip(tag & 7);
  }
  for (let i = 0; i < keys.bytes.length; i++) {
    if (bytesEqual(buf, keyStart, keyEnd, keys.bytes[i]!)) {
      into[keys.names[i]!] = valueStart === valueEnd ? '' : textDecoder.decode(buf.subarray(valueStart, valueEnd));
      return;
    }
  }
}

/** TaskSpec's task_id (1) and params (8; only `keys` when given) into `into`. */
function taskHead(buf: Uint8Array, start: number, end: number, into: { taskId: string; params: Record<string, string> }, keys?: WantedKeys): void {
  const w = new Wire(buf, start, end);
  while (w.pos < w.limit) {
    const tag = w.varint();
    if (tag === 10) into.taskId = w.string();
    else if (tag === 66) {
      w.len();
      if (keys) wantedEntry(buf, w.start, w.end, keys, into.params);
      else mapEntry(buf, w.start, w.end, into.params);
    } else w.skip(tag & 7);
  }
}

/** The wanted task params: their names and the names' UTF-8 bytes (compared against the wire bytes). */
interface WantedKeys {
  names: readonly string[];
  bytes: readonly Uint8Array[];
}

/** Per taskParams array (a stage passes the same one for every trajectory): encoded once, not per trajectory read. */
const wantedKeys = new WeakMap<readonly string[], WantedKeys>();
function wantedKeysOf(names: readonly string[]): WantedKeys {
  let keys = wantedKeys.get(names);
  if (!keys) wantedKeys.set(names, (keys = { names, bytes: names.map((k) => new TextEncoder().encode(k)) }));
  return keys;
}

/** Count of varints in buf[start, end) (a packed repeated int32). */
function countVarints(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (buf[i]! < 0x80) n++;
  return n;
}

function floats(buf: Uint8Array, start: number, end: number, into: number[]): void {
  const view = new DataView(buf.buffer, buf.byteOffset + start, end - start);
  for (let o = 0; o + 4 <= end - start; o += 4) into.push(view.getFloat32(o, true));
}

/** What to read beyond the always-read fields. */
export interface SummaryOptions {
  entropies?: boolean;
  traceContext?: boolean;
  /** the task params to read (a verifier needs only `length_budget`); default all */
  taskParams?: readonly string[];
}

/** The summary of a trajectory with nothing in it but `trajectoryId` (what the fields read as when absent). */
export function emptySummary(trajectoryId = ''): TrajectorySummary {
  return {
    trajectoryId, task: undefined, completionText: '', completionTokens: 0, policyVersion: 0, entropies: [],
    traceContext: {}, carries: { reward: false, teacher: false, task: false },
  };
}

/**
 * Reads the summary of one encoded Trajectory. Throws on malformed framing or a field of the wrong shape, as the
 * generated decoder would; a field with an unexpected wire type is skipped, as the generated decoder does.
 */
export function readTrajectorySummary(buf: Uint8Array, opts: SummaryOptions = {}): TrajectorySummary {
  const w = new Wire(buf, 0, buf.length);
  const keys = opts.taskParams && wantedKeysOf(opts.taskParams);
  const s = emptySummary();
  while (w.pos < w.limit) {
    const tag = w.varint();
    switch (tag) {
      case 10: s.trajectoryId = w.string(); break; // 1 trajectory_id
      case 50: // 6 task (a repeated occurrence merges: its id and params update the earlier ones)
        w.len();
        s.task ??= { taskId: '', params: {} };
        taskHead(buf, w.start, w.end, s.task, keys);
        s.carries.task = true;
        break;
      case 66: // 8 completion_token_ids, packed
        w.len();
        s.completionTokens += countVarints(buf, w.start, w.end);
        break;
      case 64: w.varint(); s.completionTokens++; break; // 8, unpacked
      case 90: // 11 entropies, packed
        w.len();
        if ((w.end - w.start) % 4 !== 0) throw new Error(`entropies: ${w.end - w.start} bytes is not a whole number of floats`);
        if (opts.entropies) floats(buf, w.start, w.end, s.entropies);
        break;
      case 93: // 11, unpacked
        if (opts.entropies && w.pos + 4 <= w.limit) floats(buf, w.pos, w.pos + 4, s.entropies);
        w.skip(WIRE_I32);
        break;
      case 96: s.policyVersion = w.int64(); break; // 12 policy_version
      case 106: s.completionText = w.string(); break; // 13 completion_text
      case 122: w.len(); s.carries.reward = true; break; // 15 reward
      case 130: w.len(); s.carries.teacher = true; break; // 16 teacher
      case 170: // 21 trace_context entry
        w.len();
        if (opts.traceContext) mapEntry(buf, w.start, w.end, s.traceContext);
        break;
      default:
        if (tag >>> 3 === 0 || (tag & 7) === 3 || (tag & 7) === 4) throw new Error(`invalid tag ${tag}`);
        w.skip(tag & 7);
    }
  }
  return s;
}

