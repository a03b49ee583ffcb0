// WeightStore: versioned policy weight blobs in the run's object store bucket (`rlmesh-weights-<run>`),
// written in large chunks, with a hex sha256 in the object metadata that get() verifies.
//
// Writes go through @nats-io/obj. Reads do not: its list() and get() each open an ephemeral consumer (5 minutes
// of inactivity before the server drops it; get()'s push consumer also keeps a subscription and heartbeats), and
// rollout workers read on every version and poll every few seconds, so a long run piled up thousands of consumers
// in nats-server (found by the soak). Here reads are direct gets on the bucket's stream (one request per meta
// record or chunk, nothing left on the server), and a pruned version's records are purged, not only marked deleted.
import { createHash } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Objm, setSha256Backend, StorageType } from '@nats-io/obj';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { ErrorCategory, invalidField, RlmeshError } from '../../errors.ts';
import { WeightsAnnouncement } from '../../generated/rlmesh/v1/common.ts';
import { runNames } from './names.ts';

export interface WeightStoreOptions {
  /** chunk size in bytes; capped by the server's max_payload (1 MiB by default). Default 1 MiB. */
  chunkBytes?: number;
  /** versions kept; older ones are deleted after each put (0 keeps all). Default 4. */
  keep?: number;
  storage?: 'file' | 'memory';
  /** copies of the bucket on a NATS cluster (the run's nats.replicas). Default 1. */
  replicas?: number;
}

export interface WeightInfo {
  version: number;
  /** object name, `policy-v<version>.safetensors` */
  name: string;
  bucket: string;
  size: number;
  /** hex sha256 of the blob */
  sha256: string;
  chunks: number;
  /** caller metadata given to put() */
  meta: Record<string, string>;
  mtime: string;
}

const VERSION_KEY = 'rlmesh-version';
const SHA_KEY = 'rlmesh-sha256';
const NAME_PATTERN = /^policy-v(\d+)\.safetensors$/;
const MiB = 1 << 20;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) throw invalidField('version', `must be a non-negative integer, got ${version}`);
}

function toWeightInfo(info: ObjectInfo): WeightInfo | null {
  const m = NAME_PATTERN.exec(info.name);
  if (!m || info.deleted) return null;
  const { [VERSION_KEY]: _v, [SHA_KEY]: sha, ...meta } = info.metadata ?? {};
  return { version: Number(m[1]), name: info.name, bucket: info.bucket, size: info.size, sha256: sha ?? '', chunks: info.chunks, meta, mtime: info.mtime };
}

/** The object store's meta subject for `name` (base64url with padding, as @nats-io/obj names it). */
function metaSubject(bucket: string, name: string): string {
  return `$O.${bucket}.M.${Buffer.from(name, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

function transport(what: string, err: unknown): RlmeshError {
  return new RlmeshError(ErrorCategory.transport, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The run's last weights announcement (the version rollout workers serve), or null when none was made. */
export async function lastAnnouncement(jsm: JetStreamManager, runId: string): Promise<WeightsAnnouncement | null> {
  const { stream, subject } = runNames(runId).stages.weights;
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return m ? WeightsAnnouncement.decode(m.data) : null;
}

export class WeightStore {
  readonly bucket: string;
  private readonly os: ObjectStore;
  private readonly jsm: JetStreamManager;
  /** the bucket's backing stream */
  private readonly stream: string;
  private readonly runId: string;
  private readonly chunkBytes: number;
  private readonly keep: number;
  /** Versions known to be stored, for pruning (undefined until the first prune lists the bucket). */
  private stored: Set<number> | undefined;

  private constructor(os: ObjectStore, jsm: JetStreamManager, runId: string, bucket: string, chunkBytes: number, keep: number) {
    this.os = os;
    this.jsm = jsm;
    this.stream = `OBJ_${bucket}`;
    this.runId = runId;
    this.bucket = bucket;
    this.chunkBytes = chunkBytes;
    this.keep = keep;
  }

  /** Opens (creating when missing) the run's weights bucket. */
  static async open(js: JetStreamClient, runId: string, opts: WeightStoreOptions = {}): Promise<WeightStore> {
    const bucket = runNames(runId).weightsBucket;
    const chunkBytes = opts.chunkBytes ?? MiB;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1024) throw invalidField('chunkBytes', `must be an integer >= 1024, got ${chunkBytes}`);
    const keep = opts.keep ?? 4;
    if (!Number.isInteger(keep) || keep < 0) throw invalidField('keep', `must be a non-negative integer, got ${keep}`);
    // @nats-io/obj digests every put with a pure-JS SHA-256 unless told to use node:crypto (a process-wide switch):
    // 4x slower puts, e.g. 480-580 ms instead of 125 ms for a 25 MB M-size checkpoint (scratch measurement, same run).
    setSha256Backend('native');
    try {
      const os = await new Objm(js).create(bucket, {
        storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
        replicas: opts.replicas ?? 1,
        description: `rlmesh policy weights for run ${runId}`,
      });
      return new WeightStore(os, await js.jetstreamManager(), runId, bucket, chunkBytes, keep);
    } catch (err) {
      throw transport(`opening weights bucket ${bucket}`, err);
    }
  }

  /**
   * Stores bytes as version; replaces an existing object of the same version. `sha256`: the bytes' hex digest when the
   * caller has it already (not checked here: get() verifies what it reads against it).
   */
  async put(version: number, bytes: Uint8Array, meta: Record<string, string> = {}, sha256 = sha256Hex(bytes)): Promise<WeightInfo> {
    checkVersion(version);
    const name = runNames(this.runId).weightsObject(version);
    let info: ObjectInfo;
    try {
      info = await this.os.putBlob(
        { name, options: { max_chunk_size: this.chunkBytes }, metadata: { ...meta, [VERSION_KEY]: String(version), [SHA_KEY]: sha256 } },
        bytes,
        { timeout: 30_000 },
      );
    } catch (err) {
      throw transport(`storing ${name} in ${this.bucket}`, err);
    }
    this.stored?.add(version);
    if (this.keep > 0) await this.prune(version - this.keep);
    return { version, name, bucket: this.bucket, size: info.size, sha256, chunks: info.chunks, meta, mtime: info.mtime };
  }

  /**
   * The blob of version, verified against its sha256; not_found when absent. `expect`: the bytes the caller wants (an
   * announcement's digest and size); an object stored with other bytes is refused from its metadata, before any chunk
   * is read.
   */
  async get(version: number, expect: { sha256?: string; sizeBytes?: number } = {}): Promise<{ bytes: Uint8Array; info: WeightInfo }> {
    checkVersion(version);
    const name = runNames(this.runId).weightsObject(version);
    let bytes: Uint8Array | null = null;
    let info: WeightInfo | null;
    try {
      const raw = await this.rawInfo(metaSubject(this.bucket, name));
      info = raw ? toWeightInfo(raw) : null;
      if (info && expect.sha256 !== undefined && info.sha256 !== expect.sha256) {
        throw new RlmeshError(ErrorCategory.data, `weights ${name}: stored sha256 ${info.sha256} is not the expected ${expect.sha256}`, { field: 'sha256' });
      }
      if (info && expect.sizeBytes !== undefined && info.size !== expect.sizeBytes) {
        throw new RlmeshError(ErrorCategory.data, `weights ${name}: size_bytes: ${info.size} stored, ${expect.sizeBytes} expected`, { field: 'size_bytes' });
      }
      if (raw && info) bytes = await this.readChunks(raw);
    } catch (err) {
      if (err instanceof RlmeshError) throw err;
      throw transport(`reading ${name} from ${this.bucket}`, err);
    }
    if (!bytes || !info) throw new RlmeshError(ErrorCategory.notFound, `weights version ${version} not in ${this.bucket}`, { field: 'version' });
    const actual = sha256Hex(bytes);
    if (actual !== info.sha256) {
      throw new RlmeshError(ErrorCategory.data, `weights ${name}: sha256 ${actual} does not match stored ${info.sha256}`, { field: 'sha256' });
    }
    return { bytes, info };
  }

  /** What the store holds for version (one direct get of its meta record), or null when absent. */
  async info(version: number): Promise<WeightInfo | null> {
    checkVersion(version);
    const name = runNames(this.runId).weightsObject(version);
    try {
      const raw = await this.rawInfo(metaSubject(this.bucket, name));
      return raw ? toWeightInfo(raw) : null;
    } catch (err) {
      throw transport(`reading ${name}'s metadata from ${this.bucket}`, err);
    }
  }

  /** All stored versions, oldest first. */
  async list(): Promise<WeightInfo[]> {
    const out: WeightInfo[] = [];
    try {
      const si = await this.jsm.streams.info(this.stream, { subjects_filter: `$O.${this.bucket}.M.>` });
      for (const subject of Object.keys(si.state.subjects ?? {})) {
        const raw = await this.rawInfo(subject);
        const w = raw ? toWeightInfo(raw) : null;
        if (w) out.push(w);
      }
    } catch (err) {
      throw transport(`listing ${this.bucket}`, err);
    }
    return out.sort((a, b) => a.version - b.version);
  }

  /** The newest version, or null when the bucket is empty. */
  async latest(): Promise<WeightInfo | null> {
    const all = await this.list();
    return all.at(-1) ?? null;
  }

  /** The latest meta record on `subject` (a direct get), or null. */
  private async rawInfo(subject: string): Promise<ObjectInfo | null> {
    const m = await this.jsm.direct.getMessage(this.stream, { last_by_subj: subject });
    return m ? (m.json<ObjectInfo>()) : null;
  }

  /** The object's chunks in order, one direct get each (`next_by_subj` from the last sequence read). */
  private async readChunks(info: ObjectInfo): Promise<Uint8Array> {
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    const out = new Uint8Array(info.size);
    let offset = 0, seq = 1;
    for (let i = 0; i < info.chunks; i++) {
      const m = await this.jsm.direct.getMessage(this.stream, { seq, next_by_subj: subject });
      if (!m) throw new RlmeshError(ErrorCategory.data, `weights ${info.name}: chunk ${i + 1} of ${info.chunks} is missing`, { field: 'chunks' });
      if (offset + m.data.length > out.length) throw new RlmeshError(ErrorCategory.data, `weights ${info.name}: chunks exceed the stored size ${info.size}`, { field: 'size' });
      out.set(m.data, offset);
      offset += m.data.length;
      seq = m.seq + 1;
    }
    if (offset !== info.size) throw new RlmeshError(ErrorCategory.data, `weights ${info.name}: read ${offset} bytes, stored size ${info.size}`, { field: 'size' });
    return out;
  }

  /**
   * Deletes versions <= upTo, meta records included (a deleted object's marker would otherwise stay forever). The
   * first prune lists the bucket (versions an earlier process left); later ones delete only the versions known to be
   * stored (that listing and this process's puts), without listing again.
   */
  private async prune(upTo: number): Promise<void> {
    if (this.stored === undefined) this.stored = new Set((await this.list()).map((w) => w.version));
    for (const version of [...this.stored].filter((v) => v <= upTo).sort((a, b) => a - b)) {
      const name = runNames(this.runId).weightsObject(version);
      try {
        await this.os.delete(name);
        await this.jsm.streams.purge(this.stream, { filter: metaSubject(this.bucket, name) });
      } catch {
        // best effort: a leftover old version is harmless (the next process's first prune lists it again)
      }
      this.stored.delete(version);
    }
  }
}
