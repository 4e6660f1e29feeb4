/**
 * The real Elasticsearch the tests talk to: ELASTICSEARCH_URL, which `npm test` sets after
 * starting the development server when it was not set. Each test names its own indices.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../../src/config/env.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { ElasticAlertSink, installAlertsTemplate } from '../../src/alerts/writer.js';
import { createClient } from '../../src/search/client.js';
import { deleteIndices } from '../../src/search/indices.js';
import type { ExecuteDeps } from '../../src/scheduler/execute.js';
import { StateStore } from '../../src/state/store.js';
import { installEventTemplate } from '../../src/demo/load.js';
import { Writable } from 'node:stream';

export function esUrl(): string {
  const url = process.env.ELASTICSEARCH_URL;
  if (!url) throw new Error('ELASTICSEARCH_URL is not set: run the tests with `npm test`, which starts Elasticsearch');
  return url;
}

export function testClient(): Client {
  return watchWarnings(createClient(loadConfig({ ELASTICSEARCH_URL: esUrl() }).elasticsearch));
}

/**
 * Deprecation warnings the server sent (its `warning` response headers) that no entry of
 * ACCEPTED_WARNINGS covers. Newer servers deprecate what older ones accepted; a request Lookout
 * makes that earns one must be changed (or the warning accepted here, with the reason), so a
 * test file whose clients got one fails when its process exits.
 */
const ACCEPTED_WARNINGS: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  {
    // 8.x and 9.1 warn when a client creates an index whose name starts with a dot.
    pattern: /^299 Elasticsearch-\S+ "index name \[\.ds-[^\]]+\] starts with a dot '\.', in the next major version, index names starting with a dot are reserved for hidden indices and system indices"$/,
    why: 'the Windows-layout tests and the demo create plain `.ds-<stream>-<date>-000001` indices to stand for data stream ' +
      'backing indices, since no development server can create data streams (7.17 OSS: X-Pack; 8/9: the data-streams module is ' +
      'not on Maven Central); on a real cluster Elasticsearch names those indices itself and Lookout only reads them',
  },
];
const unexpectedWarnings = new Map<string, string>();

export function watchWarnings(client: Client): Client {
  client.diagnostic.on('response', (_err, result) => {
    for (const warning of result?.warnings ?? []) {
      if (ACCEPTED_WARNINGS.some((a) => a.pattern.test(warning))) continue;
      const req = result?.meta?.request?.params;
      unexpectedWarnings.set(warning, req ? `${req.method} ${req.path}` : 'unknown request');
    }
  });
  return client;
}

/** Hands over (and forgets) what watchWarnings collected: for the test of the collection itself. */
export function takeWarnings(): Map<string, string> {
  const taken = new Map(unexpectedWarnings);
  unexpectedWarnings.clear();
  return taken;
}

process.on('exit', () => {
  if (unexpectedWarnings.size === 0) return;
  for (const [warning, request] of unexpectedWarnings) {
    process.stderr.write(`Elasticsearch warning header on ${request}: ${warning}\n`);
  }
  process.exitCode = 1;
});

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A logger whose lines the test can read. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'debug', format: 'json', stream });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

export interface TestEnv {
  readonly client: Client;
  readonly prefix: string;
  readonly alertsIndex: string;
  readonly stateIndex: string;
  readonly deps: ExecuteDeps;
  readonly logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/** Event indices under `<prefix>-events-*` with the ECS mapping, plus alerts and state indices. */
export async function testEnv(options: { readMode?: 'auto' | 'pit' | 'scroll'; pageSize?: number } = {}): Promise<TestEnv> {
  const client = testClient();
  const prefix = uniqueName('t');
  const alertsIndex = `${prefix}-alerts`;
  const stateIndex = `${prefix}-state`;
  await installEventTemplate(client, `${prefix}-events`, [`${prefix}-events-*`]);
  await installAlertsTemplate(client, alertsIndex);
  const store = new StateStore(client, stateIndex);
  await store.install();
  const { logger, lines } = captureLogger();
  return {
    client, prefix, alertsIndex, stateIndex, logs: lines,
    deps: { client, sink: new ElasticAlertSink(client, alertsIndex), store, logger, pageSize: options.pageSize ?? 500, readMode: options.readMode ?? 'auto' },
    async close() {
      await deleteIndices(client, [`${prefix}-*`]).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `${prefix}-events` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `lookout-alerts-${alertsIndex}` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `lookout-state-${stateIndex}` }).catch(() => undefined);
      await client.close();
    },
  };
}

export async function alertsIn(client: Client, index: string): Promise<Record<string, any>[]> {
  await client.indices.refresh({ index });
  const res = await client.search<Record<string, any>>({ index, size: 1000, sort: [{ 'kibana.alert.original_time': 'asc' }] as never });
  return res.hits.hits.map((h) => ({ _id: h._id, ...h._source }));
}
