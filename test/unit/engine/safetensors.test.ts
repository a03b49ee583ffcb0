// Safetensors: F32 round trip, BF16/F16/F64 decoding from hand-built files, and every malformed-header refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type Float32Tensor } from '../../../src/engine/safetensors.ts';
import { RlmeshError } from '../../../src/errors.ts';

/** Builds a safetensors file by hand (independent of the writer): header object + raw data bytes. */
function raw(header: Record<string, unknown>, data: Uint8Array, headerLengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const u16 = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

function rejects(bytes: Uint8Array, field: string, pattern: RegExp): void {
  assert.throws(() => decodeSafetensors(bytes, 'x.safetensors'), (e: unknown) => {
    assert.ok(e instanceof RlmeshError, String(e));
    assert.equal(e.category, 'data');
    assert.equal(e.field, field);
    assert.match(e.message, pattern);
    return true;
  });
}

test('F32 round trip keeps names, shapes, values, metadata and 8-byte alignment', async () => {
  const tensors = new Map<string, Float32Tensor>([
    ['model.embed_tokens.weight', { shape: [3, 2], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 6]) }],
    ['scalar', { shape: [], data: Float32Array.from([7]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ['model.norm.weight', { shape: [5], data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: 'pt' });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0);
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-st-'));
  await writeSafetensors(path.join(dir, 'a.safetensors'), tensors, { format: 'pt' });
  const back = await readSafetensors(path.join(dir, 'a.safetensors'));
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    assert.deepEqual(back.tensors.get(name)!.shape, t.shape, name);
    assert.deepEqual(Array.from(back.tensors.get(name)!.data), Array.from(t.data), name);
  }
});

test('writer output is readable from an unaligned Buffer view', () => {
  const bytes = encodeSafetensors(new Map([['w', { shape: [2], data: Float32Array.from([1.25, -3]) }]]));
  const shifted = Buffer.alloc(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(Array.from(decodeSafetensors(shifted.subarray(3)).tensors.get('w')!.data), [1.25, -3]);
});

test('BF16, F16 and F64 decode to float32', () => {
  const bf16 = u16(0x3f80, 0xc000, 0x4049, 0x7f80); // 1, -2, 3.140625, +inf
  const f16 = u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00); // 1, -2, 65504, 2^-24, 0.333251953125, -inf
  const f64 = new Uint8Array(Float64Array.from([0.5, -1e10]).buffer);
  const data = new Uint8Array([...bf16, ...f16, ...f64]);
  const bytes = raw({
    b: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] },
    h: { dtype: 'F16', shape: [6], data_offsets: [8, 20] },
    d: { dtype: 'F64', shape: [2], data_offsets: [20, 36] },
  }, data);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get('b')!.shape, [2, 2]);
  assert.deepEqual(Array.from(tensors.get('b')!.data), [1, -2, 3.140625, Infinity]);
  assert.deepEqual(Array.from(tensors.get('h')!.data), [1, -2, 65504, 2 ** -24, 0.333251953125, -Infinity]);
  assert.deepEqual(Array.from(tensors.get('d')!.data), [0.5, Math.fround(-1e10)]);
});

test('truncated files and header lengths past EOF are refused', () => {
  rejects(new Uint8Array(5), '(header)', /truncated file: 5 bytes/);
  rejects(raw({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1), 10_000n), '(header)', /header length 10000 runs past the end/);
  const good = encodeSafetensors(new Map([['w', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]]));
  rejects(good.subarray(0, good.length - 2), 'w', /run past the data buffer .*truncated/);
  rejects(raw({}, new Uint8Array(0), 0n).subarray(0, 8), '(header)', /not valid JSON/);
});

test('offsets out of range, wrong span, or overlapping name the tensor', () => {
  rejects(raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, f32(1, 2, 3)), 'b', /run past/);
  rejects(raw({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)), 'a', /span 8 bytes but F32 \[3\] needs 12/);
  rejects(raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)), 'b', /overlap tensor "a"/);
  rejects(raw({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(1)), 'a', /invalid data_offsets/);
  rejects(raw({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), 'a', /invalid shape/);
});

test('unknown and unsupported dtypes name the tensor', () => {
  rejects(raw({ weird: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), 'weird', /unknown dtype "Q4"/);
  rejects(raw({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'ids', /I64 is not supported/);
  rejects(raw({ p: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, f32(1)), 'p', /unknown dtype "toString"/);
  rejects(raw({ __metadata__: ['a'], a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1)), '__metadata__', /must be a string map/);
});

test('the writer refuses a tensor whose data disagrees with its shape', () => {
  assert.throws(() => encodeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]])),
    (e: unknown) => e instanceof RlmeshError && e.field === 'w' && /holds 4 values but data has 3/.test(e.message));
});

test('a missing file is a not_found error', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-st-'));
  writeFileSync(path.join(dir, 'x'), '');
  await assert.rejects(readSafetensors(path.join(dir, 'nope.safetensors')), (e: unknown) => e instanceof RlmeshError && e.category === 'not_found');
});
