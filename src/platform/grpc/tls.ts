// TLS for gRPC servers and clients from PEM files or buffers (server cert/key, optional client CA for mTLS;
// client CA, optional cert/key), and from RLMESH_GRPC_TLS_CERT/_KEY/_CA.
import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { RlmeshError, invalidField } from '../../errors.ts';

/** PEM contents, or a file path to read them from. */
export type PemSource = Buffer | { file: string };

export interface ServerTlsOptions {
  cert: PemSource;
  key: PemSource;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  clientCa?: PemSource;
}

export interface ClientTlsOptions {
  /** CA that signed the server certificate; system roots when omitted. */
  ca?: PemSource;
  /** Client certificate and key for mutual TLS. */
  cert?: PemSource;
  key?: PemSource;
  /** Expected server name when it differs from the address host (e.g. connecting by IP). */
  serverName?: string;
}

function readPem(src: PemSource, field: string): Buffer {
  if (Buffer.isBuffer(src)) return src;
  try {
    return readFileSync(src.file);
  } catch (cause) {
    throw new RlmeshError('config', `${field}: cannot read PEM file ${src.file}`, { field, cause });
  }
}

export function serverCredentials(tls?: ServerTlsOptions): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.clientCa ? readPem(tls.clientCa, 'tls.clientCa') : null;
  const pair = { cert_chain: readPem(tls.cert, 'tls.cert'), private_key: readPem(tls.key, 'tls.key') };
  return ServerCredentials.createSsl(ca, [pair], ca !== null);
}

export function channelCredentials(tls?: ClientTlsOptions): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidField(tls.cert ? 'tls.key' : 'tls.cert', 'client certificate and key must be given together');
  }
  return ChannelCredentials.createSsl(
    tls.ca ? readPem(tls.ca, 'tls.ca') : null,
    tls.key ? readPem(tls.key, 'tls.key') : null,
    tls.cert ? readPem(tls.cert, 'tls.cert') : null,
  );
}

/**
 * Server TLS from the environment: RLMESH_GRPC_TLS_CERT + _KEY (files) enable TLS, _CA adds mTLS.
 * Returns undefined when neither cert nor key is set.
 */
export function serverTlsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerTlsOptions | undefined {
  const cert = env.RLMESH_GRPC_TLS_CERT;
  const key = env.RLMESH_GRPC_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    throw invalidField(cert ? 'RLMESH_GRPC_TLS_KEY' : 'RLMESH_GRPC_TLS_CERT', 'TLS needs both a certificate and a key');
  }
  const ca = env.RLMESH_GRPC_TLS_CA;
  return { cert: { file: cert }, key: { file: key }, ...(ca ? { clientCa: { file: ca } } : {}) };
}

/** Client TLS from the environment: _CA enables TLS, _CERT + _KEY add a client certificate. */
export function clientTlsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientTlsOptions | undefined {
  const ca = env.RLMESH_GRPC_TLS_CA;
  if (!ca) return undefined;
  const cert = env.RLMESH_GRPC_TLS_CERT;
  const key = env.RLMESH_GRPC_TLS_KEY;
  return { ca: { file: ca }, ...(cert && key ? { cert: { file: cert }, key: { file: key } } : {}) };
}
