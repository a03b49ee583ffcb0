// errors-map: categories to gRPC/HTTP/dead-letter, unknown errors hidden, gRPC errors read back with field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { RlmeshError, invalidField } from '../../../src/errors.ts';
import {
  ErrorMetadataKey,
  fromGrpcError,
  toDeadLetterReason,
  toGrpcStatus,
  toHttpError,
} from '../../../src/platform/errors-map.ts';

test('each category maps to its gRPC and HTTP status', () => {
  const cases = [
    ['config', GrpcCode.INVALID_ARGUMENT, 400],
    ['data', GrpcCode.INVALID_ARGUMENT, 400],
    ['not_found', GrpcCode.NOT_FOUND, 404],
    ['transport', GrpcCode.UNAVAILABLE, 503],
    ['engine', GrpcCode.INTERNAL, 500],
  ] as const;
  for (const [category, grpc, http] of cases) {
    const err = new RlmeshError(category, 'boom');
    assert.equal(toGrpcStatus(err).code, grpc, category);
    assert.equal(toHttpError(err).status, http, category);
    assert.equal(toHttpError(err).body.error.category, category);
  }
});

test('invalid field: message and trailers name the field', () => {
  const err = invalidField('sampling.top_p', 'must be in (0, 1]');
  const st = toGrpcStatus(err);
  assert.equal(st.code, GrpcCode.INVALID_ARGUMENT);
  assert.equal(st.details, 'sampling.top_p: must be in (0, 1]');
  assert.deepEqual(st.metadata.get(ErrorMetadataKey.field), ['sampling.top_p']);
  assert.deepEqual(st.metadata.get(ErrorMetadataKey.category), ['config']);
  assert.deepEqual(toHttpError(err).body, {
    error: { category: 'config', message: 'sampling.top_p: must be in (0, 1]', field: 'sampling.top_p' },
  });
});

test('a field missing from the message is prefixed to it', () => {
  const err = new RlmeshError('data', 'must not be empty', { field: 'trajectory.tokens' });
  assert.equal(toGrpcStatus(err).details, 'trajectory.tokens: must not be empty');
  assert.equal(toDeadLetterReason(err), 'data: trajectory.tokens: must not be empty');
});

test('unknown errors become INTERNAL with a generic message (nothing leaks)', () => {
  const err = new TypeError('secret path /home/x/.key');
  const st = toGrpcStatus(err);
  assert.equal(st.code, GrpcCode.INTERNAL);
  assert.equal(st.details, 'internal error');
  const http = toHttpError('a string was thrown');
  assert.equal(http.status, 500);
  assert.deepEqual(http.body, { error: { category: 'internal', message: 'internal error' } });
  assert.equal(toDeadLetterReason(err), 'internal: internal error');
});

test('dead-letter reasons are one bounded line', () => {
  const reason = toDeadLetterReason(new RlmeshError('data', `line one\nline two ${'x'.repeat(2000)}`));
  assert.ok(!reason.includes('\n'));
  assert.ok(reason.length <= 512, `length ${reason.length}`);
  assert.ok(reason.startsWith('data: line one line two'));
});

function serviceError(code: GrpcCode, details: string, md = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: md });
}

test('fromGrpcError restores category and field sent by an rlmesh server', () => {
  const st = toGrpcStatus(invalidField('items.0.completion', 'must not be empty'));
  const back = fromGrpcError(serviceError(st.code, st.details, st.metadata));
  assert.equal(back.category, 'config');
  assert.equal(back.field, 'items.0.completion');
  assert.equal(back.details?.grpcCode, GrpcCode.INVALID_ARGUMENT);
});

test('fromGrpcError without rlmesh trailers maps by code', () => {
  assert.equal(fromGrpcError(serviceError(GrpcCode.NOT_FOUND, 'x')).category, 'not_found');
  assert.equal(fromGrpcError(serviceError(GrpcCode.INVALID_ARGUMENT, 'x')).category, 'config');
  const unavailable = fromGrpcError(serviceError(GrpcCode.UNAVAILABLE, 'connect failed'));
  assert.equal(unavailable.category, 'transport');
  assert.equal(unavailable.details?.grpcStatus, 'UNAVAILABLE');
});
