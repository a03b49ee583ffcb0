// NATS connection: options from RLMESH_NATS_* env, auth (user/password, token, nkey seed, creds), TLS,
// and reconnect-forever with exponential backoff. Secrets are read from env/files and never logged.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator } from '@nats-io/transport-node';
import type { Authenticator, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { ErrorCategory, invalidField, RlmeshError } from '../../errors.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface NatsTlsOptions {
  /** CA bundle file (PEM) */
  caFile?: string;
  /** client certificate file (PEM), for mutual TLS */
  certFile?: string;
  /** client key file (PEM) */
  keyFile?: string;
}

export interface NatsOptions {
  /** one URL, or several (a cluster) */
  servers: string | string[];
  user?: string;
  password?: string;
  token?: string;
  /** file holding an nkey seed (`SU...`) */
  nkeySeedFile?: string;
  /** NATS credentials file (JWT + nkey seed) */
  credsFile?: string;
  tls?: NatsTlsOptions;
  /** connection name shown by the server, e.g. `rlmesh-rollout` */
  name?: string;
  /** first reconnect delay in ms; doubles per failed try up to maxReconnectDelayMs. Default 250. */
  reconnectDelayMs?: number;
  /** cap of the reconnect delay in ms. Default 5000. */
  maxReconnectDelayMs?: number;
  /** keep retrying when the first connect fails (services starting before NATS). Default false. */
  waitOnFirstConnect?: boolean;
  /** ms to wait for the first connection. Default 5000. */
  timeoutMs?: number;
}

type Env = Record<string, string | undefined>;

/** Reads RLMESH_NATS_URL (comma-separated for several), _USER/_PASSWORD, _TOKEN, _CREDS, _NKEY_SEED_FILE, _TLS_CA/_CERT/_KEY. */
export function natsOptionsFromEnv(env: Env = process.env, name?: string): NatsOptions {
  const servers = (env.RLMESH_NATS_URL ?? DEFAULT_NATS_URL).split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0) throw invalidField('RLMESH_NATS_URL', 'is empty');
  for (const s of servers) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(s) && !/^[\w.-]+:\d+$/.test(s)) {
      throw invalidField('RLMESH_NATS_URL', `not a NATS URL: ${redactUrl(s)}`);
    }
  }
  const opts: NatsOptions = { servers, name };
  const user = env.RLMESH_NATS_USER || undefined;
  const password = env.RLMESH_NATS_PASSWORD || undefined;
  if (user !== undefined && password === undefined) throw invalidField('RLMESH_NATS_PASSWORD', 'required when RLMESH_NATS_USER is set');
  if (password !== undefined && user === undefined) throw invalidField('RLMESH_NATS_USER', 'required when RLMESH_NATS_PASSWORD is set');
  if (user) Object.assign(opts, { user, password });
  if (env.RLMESH_NATS_TOKEN) opts.token = env.RLMESH_NATS_TOKEN;
  if (env.RLMESH_NATS_CREDS) opts.credsFile = env.RLMESH_NATS_CREDS;
  if (env.RLMESH_NATS_NKEY_SEED_FILE) opts.nkeySeedFile = env.RLMESH_NATS_NKEY_SEED_FILE;
  const tls: NatsTlsOptions = {};
  if (env.RLMESH_NATS_TLS_CA) tls.caFile = env.RLMESH_NATS_TLS_CA;
  if (env.RLMESH_NATS_TLS_CERT) tls.certFile = env.RLMESH_NATS_TLS_CERT;
  if (env.RLMESH_NATS_TLS_KEY) tls.keyFile = env.RLMESH_NATS_TLS_KEY;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw invalidField(tls.certFile ? 'RLMESH_NATS_TLS_KEY' : 'RLMESH_NATS_TLS_CERT', 'client certificate and key go together');
  }
  if (Object.keys(tls).length) opts.tls = tls;
  return opts;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** A log-safe description of options: servers (credentials in URLs masked) and which auth kind is used. */
export function describeNatsOptions(opts: NatsOptions): string {
  const servers = (Array.isArray(opts.servers) ? opts.servers : [opts.servers]).map(redactUrl).join(',');
  const auth = opts.credsFile ? 'creds' : opts.nkeySeedFile ? 'nkey' : opts.token ? 'token' : opts.user ? 'user/password' : 'none';
  return `nats ${servers} auth=${auth}${opts.tls ? ' tls' : ''}${opts.name ? ` name=${opts.name}` : ''}`;
}

function readSecretFile(file: string, field: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RlmeshError(ErrorCategory.config, `${field}: cannot read ${file}`, { field, cause: err });
  }
}

/** Exponential reconnect backoff with jitter: delay doubles per failed try up to cap, reset on success. */
export function createBackoff(baseMs: number, capMs: number): { next(): number; reset(): void } {
  let attempt = 0;
  return {
    next() {
      const delay = Math.min(capMs, baseMs * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      return delay / 2 + Math.random() * (delay / 2);
    },
    reset() {
      attempt = 0;
    },
  };
}

/** Our options -> the client's options (reads key files; no network). */
export function compileNatsOptions(opts: NatsOptions, backoff = createBackoff(opts.reconnectDelayMs ?? 250, opts.maxReconnectDelayMs ?? 5000)): NodeConnectionOptions {
  const authenticators: Authenticator[] = [];
  if (opts.nkeySeedFile) {
    const seed = new TextDecoder().decode(readSecretFile(opts.nkeySeedFile, 'nkeySeedFile')).trim();
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (opts.credsFile) authenticators.push(credsAuthenticator(readSecretFile(opts.credsFile, 'credsFile')));
  const compiled: NodeConnectionOptions = {
    servers: opts.servers,
    name: opts.name,
    user: opts.user,
    pass: opts.password,
    token: opts.token,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    timeout: opts.timeoutMs ?? 5000,
    reconnectDelayHandler: () => backoff.next(),
    // No Error (with its stack) captured per request and per pull: a busy stage makes thousands a second, and every
    // failure is wrapped in an RlmeshError naming the subject anyway.
    noAsyncTraces: true,
  };
  if (authenticators.length) compiled.authenticator = authenticators;
  if (opts.tls) compiled.tls = { caFile: opts.tls.caFile, certFile: opts.tls.certFile, keyFile: opts.tls.keyFile };
  return compiled;
}

/** Connects to NATS; failures become a transport RlmeshError whose message names the servers, never secrets. */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const backoff = createBackoff(opts.reconnectDelayMs ?? 250, opts.maxReconnectDelayMs ?? 5000);
  const compiled = compileNatsOptions(opts, backoff);
  let nc: NatsConnection;
  try {
    nc = await connect(compiled);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const auth = /authoriz|authentic/i.test(reason);
    throw new RlmeshError(ErrorCategory.transport, `cannot connect to ${describeNatsOptions(opts)}: ${auth ? 'authorization violation' : reason}`, {
      field: auth ? 'credentials' : 'servers',
      details: { auth },
      cause: err,
    });
  }
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') backoff.reset();
  })().catch(() => undefined);
  return nc;
}
