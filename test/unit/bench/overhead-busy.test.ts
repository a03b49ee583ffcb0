// The pipeline bench's busy fractions: a stage's overlapping spans in one process count once; processes add up;
// only the window counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyFractions } from '../../../bench/pipeline/overhead.ts';
import type { SpanRecord } from '../../../src/platform/telemetry/index.ts';

const span = (name: string, pid: number, start: number, end: number) => ({ name, pid, startUnixMs: start, endUnixMs: end }) as SpanRecord;

test('overlapping spans of one process are a union; two processes sum; the window clips', () => {
  const spans = [
    // teacher pid 1: 16 trajectory spans over the same 100 ms call, then one more 50 ms call
    ...Array.from({ length: 16 }, () => span('teacher.score', 1, 1000, 1100)),
    span('teacher.score', 1, 1150, 1200),
    // two rollout processes, each busy 200 ms, one partly outside the window
    span('rollout.generate', 2, 1000, 1200),
    span('rollout.generate', 3, 1900, 2100),
    span('unrelated', 1, 1000, 2000),
  ];
  const busy = busyFractions(spans, 1000, 2000);
  assert.ok(Math.abs(busy['teacher.score']! - 0.15) < 1e-12, String(busy['teacher.score']));
  assert.ok(Math.abs(busy['rollout.generate']! - 0.3) < 1e-12, String(busy['rollout.generate']));
  assert.equal(busy['learner.step'], 0);
  assert.equal('unrelated' in busy, false);
});
