// Safetensors encode/decode: writes F32, reads F32/BF16/F16/F64 into Float32Array, and refuses malformed files.
//
// Layout: u64 little-endian header length N, N bytes of JSON header {name: {dtype, shape, data_offsets: [begin,
// end]}, "__metadata__"?: {string: string}}, then the data buffer; offsets are relative to the buffer start.
// Typed-array views assume a little-endian host (x86-64, arm64). The writer pads the header with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned.
import { readFile, writeFile } from 'node:fs/promises';
import { ErrorCategory, RlmeshError } from '../errors.ts';

/** A float32 tensor with its (row-major) shape. Structurally the same as `NamedTensor` in weights.ts. */
export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, Float32Tensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Bytes per element of every dtype the format defines; the ones this reader converts are in `DECODERS`. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

function corrupt(field: string, source: string, message: string, details?: Record<string, unknown>): RlmeshError {
  return new RlmeshError(ErrorCategory.data, `${source}: ${field === '(header)' ? '' : `tensor "${field}": `}${message}`, { field, details });
}

/** float16 bits -> float32 value (handles subnormals, inf and NaN). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Copies bytes into a fresh ArrayBuffer (aligned; a Buffer's own `.slice` would share the pool). */
function own(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer;
}

type Decoder = (bytes: Uint8Array, numel: number) => Float32Array;
const DECODERS: Record<string, Decoder> = {
  F32: (b, n) => new Float32Array(own(b), 0, n),
  F64: (b, n) => Float32Array.from(new Float64Array(own(b), 0, n)),
  BF16: (b, n) => {
    const src = new Uint16Array(own(b), 0, n);
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = src[i]! << 16; // bf16 is the top half of a float32
    return new Float32Array(bits.buffer);
  },
  F16: (b, n) => {
    const src = new Uint16Array(own(b), 0, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]!);
    return out;
  },
};

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors as F32 (in map order) with an optional `__metadata__` map. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Float32Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw corrupt(name, 'encodeSafetensors', 'reserved name');
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw corrupt(name, 'encodeSafetensors', `invalid shape [${t.shape.join(', ')}]`);
    const n = numelOf(t.shape);
    if (n !== t.data.length) {
      throw corrupt(name, 'encodeSafetensors', `shape [${t.shape.join(', ')}] holds ${n} values but data has ${t.data.length}`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  const rawLength = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + rawLength) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

interface HeaderEntry { name: string; dtype: string; shape: number[]; begin: number; end: number }

function parseHeader(bytes: Uint8Array, source: string): { entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) throw corrupt('(header)', source, `truncated file: ${bytes.length} bytes, the header length alone takes 8`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw corrupt('(header)', source, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(headerLength)).toString('utf8'));
  } catch (e) {
    throw new RlmeshError(ErrorCategory.data, `${source}: header is not valid JSON`, { field: '(header)', cause: e });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt('(header)', source, 'header is not a JSON object');
  const bufferLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('__metadata__', source, 'must be a string map');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw corrupt('__metadata__', source, `value of "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (value ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) throw corrupt(name, source, `unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw corrupt(name, source, `invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw corrupt(name, source, `invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > bufferLength) {
      throw corrupt(name, source, `data_offsets [${begin}, ${end}] run past the data buffer (${bufferLength} bytes; truncated file?)`, { begin, end, bufferLength });
    }
    const expected = numelOf(shape) * DTYPE_BYTES[dtype]!;
    if (end - begin !== expected) {
      throw corrupt(name, source, `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${expected}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw corrupt(cur.name, source, `data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${prev.name}" [${prev.begin}, ${prev.end}]`);
    }
  }
  return { entries, metadata, dataStart };
}

/** Parses and validates a safetensors byte buffer; every tensor comes back as float32. `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  const { entries, metadata, dataStart } = parseHeader(bytes, source);
  const tensors = new Map<string, Float32Tensor>();
  for (const e of entries) {
    const decode = DECODERS[e.dtype];
    if (!decode) throw corrupt(e.name, source, `dtype ${e.dtype} is not supported (F32, F64, BF16, F16 are)`);
    const n = numelOf(e.shape);
    tensors.set(e.name, { shape: e.shape, data: decode(bytes.subarray(dataStart + e.begin, dataStart + e.end), n) });
  }
  return { tensors, metadata };
}

export async function writeSafetensors(file: string, tensors: ReadonlyMap<string, Float32Tensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFile(file, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new RlmeshError(ErrorCategory.notFound, `cannot read ${file}: ${(e as Error).message}`, { field: file, cause: e });
  }
  return decodeSafetensors(bytes, file);
}
