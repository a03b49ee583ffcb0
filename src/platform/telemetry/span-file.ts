// JSON-lines span file: an exporter that appends one JSON object per finished span, and its reader.
import { mkdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { HrTime } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { ErrorCategory, RlmeshError } from '../../errors.ts';

const spanKindNames = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const statusNames = ['UNSET', 'OK', 'ERROR'] as const;
const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()]))]);

const spanRecordSchema = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  /** null for a root span */
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
  name: z.string(),
  kind: z.enum(spanKindNames),
  /** wall-clock start, unix milliseconds with sub-millisecond fraction */
  startUnixMs: z.number(),
  /** wall-clock end, unix milliseconds with sub-millisecond fraction */
  endUnixMs: z.number(),
  attributes: z.record(attributeValue),
  links: z.array(z.object({ traceId: z.string(), spanId: z.string(), attributes: z.record(attributeValue) })),
  status: z.object({ code: z.enum(statusNames), message: z.string().optional() }),
  events: z.array(z.object({ name: z.string(), unixMs: z.number(), attributes: z.record(attributeValue) })),
  serviceName: z.string(),
  serviceInstanceId: z.string(),
  pid: z.number().int(),
});

/** One finished span as stored in a span file (times are unix milliseconds). */
export type SpanRecord = z.infer<typeof spanRecordSchema>;

function hrToUnixMs(t: HrTime): number {
  return t[0] * 1e3 + t[1] / 1e6;
}

/** A value the file keeps: string, finite number, boolean, or an array of those and nulls (what readSpanFile accepts). */
function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isAttributeValue(v: unknown): v is SpanRecord['attributes'][string] {
  if (isScalar(v)) return true;
  if (!Array.isArray(v)) return false;
  for (const x of v) if (x !== null && !isScalar(x)) return false;
  return true;
}

/** Keeps the attributes the file format can hold (checked by hand: this runs for every exported span). */
function cleanAttributes(attrs: Record<string, unknown> | undefined): SpanRecord['attributes'] {
  const out: SpanRecord['attributes'] = {};
  if (!attrs) return out;
  for (const k in attrs) {
    const v = attrs[k];
    if (isAttributeValue(v)) out[k] = v;
  }
  return out;
}

/** Converts an SDK span to the file's record shape. */
export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const res = span.resource.attributes;
  const status = span.status.code === SpanStatusCode.ERROR ? 'ERROR' : span.status.code === SpanStatusCode.OK ? 'OK' : 'UNSET';
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: spanKindNames[span.kind] ?? spanKindNames[SpanKind.INTERNAL],
    startUnixMs: hrToUnixMs(span.startTime),
    endUnixMs: hrToUnixMs(span.endTime),
    attributes: cleanAttributes(span.attributes),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: cleanAttributes(l.attributes) })),
    status: span.status.message ? { code: status, message: span.status.message } : { code: status },
    events: span.events.map((e) => ({ name: e.name, unixMs: hrToUnixMs(e.time), attributes: cleanAttributes(e.attributes) })),
    serviceName: String(res['service.name'] ?? 'unknown'),
    serviceInstanceId: String(res['service.instance.id'] ?? ''),
    pid: Number(res['process.pid'] ?? process.pid),
  };
}

const resourceTails = new WeakMap<object, string>();

/** `,"serviceName":..,"serviceInstanceId":..,"pid":..}`: the same for every span of a resource, built once. */
function resourceTail(span: ReadableSpan): string {
  let tail = resourceTails.get(span.resource);
  if (tail === undefined) {
    const res = span.resource.attributes;
    tail = `,"serviceName":${JSON.stringify(String(res['service.name'] ?? 'unknown'))},"serviceInstanceId":${JSON.stringify(String(res['service.instance.id'] ?? ''))},"pid":${JSON.stringify(Number(res['process.pid'] ?? process.pid))}}`;
    resourceTails.set(span.resource, tail);
  }
  return tail;
}

function attributesJson(attrs: Record<string, unknown> | undefined): string {
  let out = '';
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (isAttributeValue(v)) out += `${out ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}`;
    }
  }
  return `{${out}}`;
}

/**
 * One span as its file line: the text of `JSON.stringify(toSpanRecord(span))`, written out field by field (no
 * intermediate record; the resource part is built once per resource). Runs for every exported span.
 */
export function spanLine(span: ReadableSpan): string {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  const code = span.status.code === SpanStatusCode.ERROR ? 'ERROR' : span.status.code === SpanStatusCode.OK ? 'OK' : 'UNSET';
  const status = span.status.message ? `{"code":"${code}","message":${JSON.stringify(span.status.message)}}` : `{"code":"${code}"}`;
  const links = span.links.length === 0 ? '[]' : JSON.stringify(span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: cleanAttributes(l.attributes) })));
  const events = span.events.length === 0 ? '[]' : JSON.stringify(span.events.map((e) => ({ name: e.name, unixMs: hrToUnixMs(e.time), attributes: cleanAttributes(e.attributes) })));
  return `{"traceId":${JSON.stringify(ctx.traceId)},"spanId":${JSON.stringify(ctx.spanId)},"parentSpanId":${parent === undefined ? 'null' : JSON.stringify(parent)}`
    + `,"name":${JSON.stringify(span.name)},"kind":"${spanKindNames[span.kind] ?? spanKindNames[SpanKind.INTERNAL]}"`
    + `,"startUnixMs":${JSON.stringify(hrToUnixMs(span.startTime))},"endUnixMs":${JSON.stringify(hrToUnixMs(span.endTime))}`
    + `,"attributes":${attributesJson(span.attributes)},"links":${links},"status":${status},"events":${events}${resourceTail(span)}`;
}

const failed = (err: unknown): ExportResult => ({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });

/**
 * SpanExporter appending JSON lines; several processes may share one file (each batch is one append). Appends
 * are asynchronous and in order (the event loop never waits on the disk); forceFlush and shutdown wait for them.
 */
export class SpanFileExporter implements SpanExporter {
  readonly file: string;
  private writes: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = path.resolve(file);
    mkdirSync(path.dirname(this.file), { recursive: true });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let text = '';
    try {
      for (const s of spans) text += spanLine(s) + '\n';
    } catch (err) {
      resultCallback(failed(err));
      return;
    }
    if (!text) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.writes = this.writes.then(() => appendFile(this.file, text)).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (err: unknown) => resultCallback(failed(err)),
    );
  }

  shutdown(): Promise<void> {
    return this.writes;
  }

  forceFlush(): Promise<void> {
    return this.writes;
  }
}

/**
 * Reads a span file back. A last line without its newline (a write in progress) is skipped; any other
 * malformed line is a data error naming the line.
 */
export function readSpanFile(file: string): SpanRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RlmeshError(ErrorCategory.notFound, `span file ${file} cannot be read`, { field: 'spanFile', cause: err });
  }
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop();
  const out: SpanRecord[] = [];
  lines.forEach((line, i) => {
    const span = parseSpanLine(line, file, i + 1);
    if (span) out.push(span);
  });
  return out;
}

/** One line of a span file (`lineNo` 1-based, for the error); null for a blank line; a malformed one throws naming it. */
export function parseSpanLine(line: string, file: string, lineNo: number): SpanRecord | null {
  if (line.trim() === '') return null;
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new RlmeshError(ErrorCategory.data, `${file}:${lineNo}: not JSON`, { field: `line ${lineNo}`, cause: err });
  }
  const parsed = spanRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RlmeshError(ErrorCategory.data, `${file}:${lineNo}: ${issue.path.join('.')}: ${issue.message}`, {
      field: `line ${lineNo}.${issue.path.join('.')}`,
    });
  }
  return parsed.data;
}
