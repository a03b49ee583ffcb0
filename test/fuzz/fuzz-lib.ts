// Fuzz helpers: a seeded PRNG, random and mutated byte strings, and raw gRPC calls that send bytes as-is
// (identity serializers), so the server's own decoder sees exactly what the fuzzer made.
import { Client, credentials, Metadata, status as GrpcCode, type ServiceError } from '@grpc/grpc-js';

/** The project's seeded mulberry32 generator: the same sequence for the same seed. */
export { seededRandom as rng } from '../../src/objectives/tensor-ops.ts';

export const randInt = (r: () => number, n: number): number => Math.floor(r() * n);

export function randomBytes(r: () => number, maxLen = 256): Uint8Array {
  const out = new Uint8Array(randInt(r, maxLen + 1));
  for (let i = 0; i < out.length; i++) out[i] = randInt(r, 256);
  return out;
}

/** One to four random edits of a valid encoding: bit flips, byte overwrites, truncation, insertion, deletion, splice. */
export function mutate(r: () => number, src: Uint8Array): Uint8Array {
  let b = Array.from(src);
  const edits = 1 + randInt(r, 4);
  for (let e = 0; e < edits; e++) {
    const at = randInt(r, Math.max(1, b.length));
    switch (randInt(r, 6)) {
      case 0: if (b.length) b[at] = b[at]! ^ (1 << randInt(r, 8)); break;
      case 1: if (b.length) b[at] = randInt(r, 256); break;
      case 2: b = b.slice(0, at); break;
      case 3: b.splice(at, 0, ...Array.from(randomBytes(r, 8))); break;
      case 4: b.splice(at, 1 + randInt(r, 4)); break;
      default: b.splice(at, 0, ...b.slice(0, 1 + randInt(r, Math.max(1, b.length)))); break;
    }
  }
  return Uint8Array.from(b);
}

export interface CallOutcome {
  code: GrpcCode;
  details: string;
  /** `rlmesh-field` trailer when the server named a field */
  field?: string;
  messages: number;
}

const identity = (b: Buffer): Buffer => b;

function outcomeOf(err: ServiceError | null, messages: number): CallOutcome {
  if (!err) return { code: GrpcCode.OK, details: '', messages };
  const f = err.metadata?.get('rlmesh-field')[0];
  return { code: err.code, details: err.details, field: f === undefined ? undefined : String(f), messages };
}

/** Sends raw bytes to a unary method; resolves with the status (never rejects). */
export function rawUnary(client: Client, path: string, bytes: Uint8Array, deadlineMs: number): Promise<CallOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), new Metadata(), { deadline: Date.now() + deadlineMs },
      (err) => resolve(outcomeOf(err, err ? 0 : 1)));
  });
}

/** Sends raw bytes to a server-streaming method; reads up to `maxMessages` responses, then cancels. */
export function rawStream(client: Client, path: string, bytes: Uint8Array, deadlineMs: number, maxMessages = Infinity): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), new Metadata(), { deadline: Date.now() + deadlineMs });
    let n = 0;
    let settled = false;
    const done = (o: CallOutcome) => { if (!settled) { settled = true; resolve(o); } };
    call.on('data', () => {
      n++;
      if (n >= maxMessages) { done({ code: GrpcCode.OK, details: 'stopped reading', messages: n }); call.cancel(); }
    });
    call.on('error', (err: ServiceError) => done(outcomeOf(err, n)));
    call.on('end', () => done({ code: GrpcCode.OK, details: '', messages: n }));
  });
}

export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
}

/** Runs `tasks` with at most `limit` at once. */
export async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

/** `{ INVALID_ARGUMENT: 12, OK: 3 }` */
export function histogram(codes: readonly GrpcCode[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const c of codes) h[GrpcCode[c] ?? String(c)] = (h[GrpcCode[c] ?? String(c)] ?? 0) + 1;
  return h;
}
