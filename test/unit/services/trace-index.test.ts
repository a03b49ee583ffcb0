// The gateway's span-file reading (services/gateway/trace-index.ts): incremental across requests, a torn line skipped
// and counted (not the whole file), a line being written read once complete, a replaced file read again, and the
// first read of a huge file bounded to its end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SpanRecord } from '../../../src/platform/telemetry/span-file.ts';
import { MAX_CACHED_FILES, MAX_FIRST_READ_BYTES, MAX_SPANS_PER_FILE, SpanFileCache, readRunSpanFiles } from '../../../services/gateway/trace-index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-traceidx-'));

function span(i: number, traceId = `${'a'.repeat(31)}${i % 10}`): SpanRecord {
  return {
    traceId, spanId: i.toString(16).padStart(16, '0'), parentSpanId: null, name: `s${i}`, kind: 'INTERNAL', startUnixMs: 1000 + i, endUnixMs: 1001 + i,
    attributes: { 'rlmesh.i': i }, links: [], status: { code: 'UNSET' }, events: [], serviceName: 'rlmesh-test', serviceInstanceId: 'x', pid: 1,
  } as SpanRecord;
}
const line = (i: number) => JSON.stringify(span(i)) + '\n';

test('a file is read incrementally; a torn line is skipped and counted; a partial last line waits for its newline', () => {
  const file = path.join(dir, 'a.jsonl');
  const cache = new SpanFileCache();
  writeFileSync(file, line(0) + line(1));
  assert.deepEqual(cache.read(file).map((s) => s.name), ['s0', 's1']);
  // a killed writer's torn line, then its successor's lines, then a line still being written
  appendFileSync(file, line(2).slice(0, 40) + '\n' + line(3) + line(4).slice(0, 30));
  assert.deepEqual(cache.read(file).map((s) => s.name), ['s0', 's1', 's3']);
  assert.equal(cache.skippedLines(file), 1);
  appendFileSync(file, line(4).slice(30));
  assert.deepEqual(cache.read(file).map((s) => s.name), ['s0', 's1', 's3', 's4']);
  // replaced by a shorter file: read from its start
  writeFileSync(file, line(9));
  assert.deepEqual(cache.read(file).map((s) => s.name), ['s9']);
  assert.deepEqual(cache.read(path.join(dir, 'missing.jsonl')), []);
});

test('the first read of a file larger than the bound starts near its end, on a line boundary', () => {
  const file = path.join(dir, 'big.jsonl');
  const one = line(0).length;
  const count = Math.ceil((MAX_FIRST_READ_BYTES * 1.25) / one);
  const chunk: string[] = [];
  writeFileSync(file, '');
  for (let i = 0; i < count; i++) {
    chunk.push(line(i));
    if (chunk.length === 10_000) appendFileSync(file, chunk.splice(0).join(''));
  }
  appendFileSync(file, chunk.join(''));
  const cache = new SpanFileCache();
  const spans = cache.read(file);
  assert.equal(cache.skippedLines(file), 0, 'the partial line the read starts in is not counted as malformed');
  assert.equal(spans.at(-1)!.name, `s${count - 1}`);
  // the window holds more lines than are kept: the most recent MAX_SPANS_PER_FILE
  assert.ok(MAX_FIRST_READ_BYTES / (one + 8) > MAX_SPANS_PER_FILE);
  assert.equal(spans.length, MAX_SPANS_PER_FILE);
  const first = Number(spans[0]!.name.slice(1));
  assert.deepEqual(spans.map((s) => s.name), Array.from({ length: spans.length }, (_, k) => `s${first + k}`), 'consecutive, nothing torn');
});

test('a run reads its spans/ folder and the extra files only for traces it has', () => {
  const runDir = path.join(dir, 'run');
  const spansDir = path.join(runDir, 'spans');
  writeFileSync(path.join(dir, 'gateway.jsonl'), JSON.stringify(span(100, 'b'.repeat(32))) + '\n' + JSON.stringify(span(101, `${'a'.repeat(31)}1`)) + '\n');
  mkdirSync(spansDir, { recursive: true });
  writeFileSync(path.join(spansDir, 'rollout.jsonl'), line(1));
  const spans = readRunSpanFiles(runDir, [path.join(dir, 'gateway.jsonl')], new SpanFileCache());
  assert.deepEqual(spans.map((s) => s.name).sort(), ['s1', 's101']);
});

test('the cache forgets the least recently read files past its bound, and a read of a large append keeps only its end', () => {
  const cache = new SpanFileCache();
  const files = Array.from({ length: MAX_CACHED_FILES + 2 }, (_, k) => path.join(dir, `many-${k}.jsonl`));
  files.forEach((f, k) => { writeFileSync(f, line(k)); cache.read(f); });
  // the first file was forgotten: a rewrite of it to other content is read afresh, not appended to a stale offset
  writeFileSync(files[0]!, line(500));
  assert.deepEqual(cache.read(files[0]!).map((s) => s.name), ['s500']);
  const big = path.join(dir, 'grows.jsonl');
  writeFileSync(big, line(0));
  assert.equal(cache.read(big).length, 1);
  const chunk: string[] = [];
  for (let i = 1; (chunk.length + 1) * line(i).length < MAX_FIRST_READ_BYTES * 1.2; i++) chunk.push(line(i));
  appendFileSync(big, chunk.join(''));
  const spans = cache.read(big);
  assert.ok(!spans.some((s) => s.name === 's0'), 'what came before the window is dropped');
  assert.equal(spans.at(-1)!.name, `s${chunk.length}`);
  assert.equal(cache.skippedLines(big), 0);
});
