/**
 * The Elasticsearch client Lookout uses, and the start-up check of the server.
 *
 * The official client sends versioned `compatible-with` media types; a 7.17 server may reject
 * them, so a Transport subclass replaces them with plain `application/json` (and
 * `application/x-ndjson` for bulk), which 7.17, 8.x and 9.x all accept.
 */
import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
type ClientOptions = ConstructorParameters<typeof Client>[0];
import { Transport, type TransportOptions } from '@elastic/transport';
import type { Config } from '../config/env.js';
import { errorMessage, SearchError } from '../errors.js';

class PlainJsonTransport extends Transport {
  constructor(opts: TransportOptions) {
    super({
      ...opts,
      vendoredHeaders: { jsonContentType: 'application/json', ndjsonContentType: 'application/x-ndjson', accept: 'application/json' },
    });
  }
}

export function createClient(es: Config['elasticsearch']): Client {
  const options: ClientOptions = {
    node: es.url,
    Transport: PlainJsonTransport as unknown as ClientOptions['Transport'],
    requestTimeout: es.requestTimeoutMs,
    maxRetries: 3,
    compression: false,
  };
  if (es.apiKey) options.auth = { apiKey: es.apiKey };
  else if (es.username && es.password) options.auth = { username: es.username, password: es.password };
  // Verification is always on: against the system CAs, a given CA file, or (fingerprint only)
  // by pinning the CA's SHA-256 fingerprint, which the transport checks on every connection in
  // place of the chain check a private CA cannot pass.
  if (es.caFile) options.tls = { rejectUnauthorized: true, ca: readFileSync(es.caFile) };
  if (es.caFingerprint) {
    options.caFingerprint = es.caFingerprint;
    if (!es.caFile) options.tls = { rejectUnauthorized: false };
  }
  return new Client(options);
}

export interface ClusterInfo {
  readonly version: string;
  readonly major: number;
  readonly minor: number;
}

/**
 * What a connection failure means and which setting to check: TLS spoken to a plain HTTP port
 * (OpenSSL's "wrong version number"), no answer within the request timeout.
 */
function reachHint(err: unknown, url: string, timeoutMs?: number): string {
  const message = errorMessage(err);
  if (/wrong version number|packet length too long|EPROTO/i.test(message) && url.startsWith('https:')) {
    return `the server does not speak TLS on this port (${message.split(':').find((p) => /wrong version number|EPROTO|packet length/i.test(p))?.trim() ?? 'TLS handshake failed'}); check ELASTICSEARCH_URL: perhaps ${url.replace(/^https:/, 'http:')}`;
  }
  if ((err as { name?: string })?.name === 'TimeoutError' || /timed? ?out/i.test(message)) {
    const within = timeoutMs !== undefined ? `${timeoutMs} ms` : 'the request timeout';
    return `no answer within ${within} (ELASTICSEARCH_REQUEST_TIMEOUT); check ELASTICSEARCH_URL and the network, or raise ELASTICSEARCH_REQUEST_TIMEOUT if the cluster is slow`;
  }
  return message;
}

/** Asks the server who it is; refuses versions before 7.17. */
export async function checkCluster(client: Client, url: string, timeoutMs?: number): Promise<ClusterInfo> {
  let version: string;
  try {
    const info = await client.info();
    version = info.version.number;
  } catch (err) {
    throw new SearchError(`cannot reach Elasticsearch at ${url}: ${reachHint(err, url, timeoutMs)}`, { cause: err, statusCode: statusOf(err) });
  }
  const [major, minor] = version.split('.').map(Number);
  if (!(major > 7 || (major === 7 && minor >= 17))) {
    throw new SearchError(`Elasticsearch ${version} at ${url} is not supported; Lookout needs 7.17, 8.x or 9.x`);
  }
  return { version, major, minor };
}

export function statusOf(err: unknown): number | undefined {
  const meta = (err as { meta?: { statusCode?: number } })?.meta;
  return typeof meta?.statusCode === 'number' ? meta.statusCode : undefined;
}

/** The error type Elasticsearch put in its answer (`index_not_found_exception`, ...). */
export function errorTypeOf(err: unknown): string | undefined {
  const body = (err as { meta?: { body?: { error?: { type?: string } } } })?.meta?.body;
  return body?.error?.type;
}
