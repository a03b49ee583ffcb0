// The one boundary mapping of errors: RlmeshError categories (and unknown throws) to gRPC status, HTTP status +
// JSON body, and NATS dead-letter reasons; plus the reverse for gRPC errors a client receives.
import { Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type { ServiceError, StatusObject } from '@grpc/grpc-js';
import { ErrorCategory, RlmeshError, isRlmeshError } from '../errors.ts';

/** Category reported for anything that is not an RlmeshError (its message is never shown to a caller). */
export const INTERNAL_CATEGORY = 'internal' as const;
export type MappedCategory = ErrorCategory | typeof INTERNAL_CATEGORY;

/** Trailing-metadata keys a server sets so a client can rebuild the RlmeshError. */
export const ErrorMetadataKey = {
  category: 'rlmesh-category',
  field: 'rlmesh-field',
} as const;

const GENERIC_MESSAGE = 'internal error';
/** Dead-letter reasons travel in a NATS header: one line, bounded. */
const MAX_REASON_CHARS = 512;

export interface MappedError {
  category: MappedCategory;
  /** Safe to show to a caller; names the field when there is one. */
  message: string;
  field?: string;
}

export interface HttpErrorBody {
  error: { category: MappedCategory; message: string; field?: string };
}

const GRPC_BY_CATEGORY: Record<MappedCategory, GrpcCode> = {
  config: GrpcCode.INVALID_ARGUMENT,
  data: GrpcCode.INVALID_ARGUMENT,
  not_found: GrpcCode.NOT_FOUND,
  transport: GrpcCode.UNAVAILABLE,
  engine: GrpcCode.INTERNAL,
  internal: GrpcCode.INTERNAL,
};

const HTTP_BY_CATEGORY: Record<MappedCategory, number> = {
  config: 400,
  data: 400,
  not_found: 404,
  transport: 503,
  engine: 500,
  internal: 500,
};

/** Category, caller-safe message (prefixed by the field when the message does not name it) and field. */
export function describeError(err: unknown): MappedError {
  if (!isRlmeshError(err)) return { category: INTERNAL_CATEGORY, message: GENERIC_MESSAGE };
  const { field } = err;
  const message = field && !err.message.includes(field) ? `${field}: ${err.message}` : err.message;
  return field === undefined ? { category: err.category, message } : { category: err.category, message, field };
}

/** gRPC status for a thrown value; trailers carry category and field for rlmesh clients. */
export function toGrpcStatus(err: unknown): StatusObject {
  const mapped = describeError(err);
  const metadata = new Metadata();
  metadata.set(ErrorMetadataKey.category, mapped.category);
  if (mapped.field !== undefined) metadata.set(ErrorMetadataKey.field, mapped.field);
  return { code: GRPC_BY_CATEGORY[mapped.category], details: mapped.message, metadata };
}

/** HTTP status and JSON body `{ error: { category, message, field } }` for a thrown value. */
export function toHttpError(err: unknown): { status: number; body: HttpErrorBody } {
  const mapped = describeError(err);
  const error: HttpErrorBody['error'] = { category: mapped.category, message: mapped.message };
  if (mapped.field !== undefined) error.field = mapped.field;
  return { status: HTTP_BY_CATEGORY[mapped.category], body: { error } };
}

/** One-line `Rlmesh-Dead-Reason` value, e.g. `data: trajectory.tokens: must not be empty`. */
export function toDeadLetterReason(err: unknown): string {
  const mapped = describeError(err);
  const oneLine = `${mapped.category}: ${mapped.message}`.replace(/[\r\n]+\s*/g, ' ');
  return oneLine.length > MAX_REASON_CHARS ? `${oneLine.slice(0, MAX_REASON_CHARS - 3)}...` : oneLine;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

const CATEGORY_BY_GRPC: Partial<Record<GrpcCode, ErrorCategory>> = {
  [GrpcCode.INVALID_ARGUMENT]: ErrorCategory.config,
  [GrpcCode.NOT_FOUND]: ErrorCategory.notFound,
};

function isCategory(v: string): v is ErrorCategory {
  return (Object.values(ErrorCategory) as string[]).includes(v);
}

/**
 * A gRPC error a client received, as an RlmeshError: the server's category and field when it sent them,
 * otherwise INVALID_ARGUMENT -> config, NOT_FOUND -> not_found, anything else -> transport.
 * `details.grpcCode` keeps the status code.
 */
export function fromGrpcError(err: unknown): RlmeshError {
  if (isRlmeshError(err)) return err;
  if (!isServiceError(err)) {
    return new RlmeshError(ErrorCategory.transport, err instanceof Error ? err.message : String(err), { cause: err });
  }
  const sentCategory = String(err.metadata?.get(ErrorMetadataKey.category)[0] ?? '');
  const sentField = err.metadata?.get(ErrorMetadataKey.field)[0];
  const category = isCategory(sentCategory) ? sentCategory : (CATEGORY_BY_GRPC[err.code] ?? ErrorCategory.transport);
  const codeName = GrpcCode[err.code] ?? String(err.code);
  return new RlmeshError(category, err.details || codeName, {
    field: sentField === undefined ? undefined : String(sentField),
    details: { grpcCode: err.code, grpcStatus: codeName },
    cause: err,
  });
}

/** The gRPC status code of an error from a client call, or undefined when it is not a gRPC error. */
export function grpcCodeOf(err: unknown): GrpcCode | undefined {
  if (isServiceError(err)) return err.code;
  if (isRlmeshError(err) && typeof err.details?.grpcCode === 'number') return err.details.grpcCode as GrpcCode;
  return undefined;
}
