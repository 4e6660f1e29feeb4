/**
 * Faults between Lookout and the real server, injected by the project's own proxy: slow
 * answers, 503s, 429s, dropped connections, bulk requests whose items fail in part. The alerts
 * all arrive exactly once; an alert that cannot be written after retries is named and the
 * execution is recorded as partial.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { loadConfig } from '../../src/config/env.js';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents } from '../../src/demo/load.js';
import { createClient } from '../../src/search/client.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { StateStore } from '../../src/state/store.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { startFaultProxy, type Fault } from '../helpers/fault-proxy.js';
import { shippedRule } from '../helpers/rules.js';

const START = Date.UTC(2026, 9, 1);
const WINDOW = { start: START - 1000, end: START + 3_600_000 };

describe('faults between Lookout and Elasticsearch', () => {
  let env: TestEnv;
  let expected: string[];
  before(async () => {
    env = await testEnv();
    const data = generateDataset({ seed: 41, start: START, end: START + 3_600_000, noiseEvents: 300, attacks: 12, hosts: 12, indices: {
      defendNetwork: `${env.prefix}-events-n`, defendProcess: `${env.prefix}-events-p`, winlogbeat: `${env.prefix}-events-w`,
    } });
    await indexEvents(env.client, data.events);
    // The clean run, straight to the server, into its own index: the set every faulty run must equal.
    const clean = `${env.prefix}-alerts-clean`;
    const rule = await shippedRule({ indices: [`${env.prefix}-events-*`] });
    await executeRule({ ...env.deps, sink: new ElasticAlertSink(env.client, clean) }, rule, WINDOW, 'once');
    expected = (await alertsIn(env.client, clean)).map((a) => a._id).sort();
    assert.equal(expected.length, 12);
  });
  after(async () => env?.close());

  async function runThrough(decide: (method: string, path: string, n: number) => Fault | undefined, alertsIndex: string, retry = { attempts: 5, baseDelayMs: 20 }) {
    const proxy = await startFaultProxy(esUrl(), decide);
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: proxy.url, ELASTICSEARCH_REQUEST_TIMEOUT: '5s' }).elasticsearch);
    const { logger, lines } = captureLogger();
    try {
      const rule = await shippedRule({ indices: [`${env.prefix}-events-*`] });
      const deps = { client, sink: new ElasticAlertSink(client, alertsIndex, retry), store: new StateStore(client, env.stateIndex), logger, pageSize: 50, readMode: 'pit' as const };
      const result = await executeRule(deps, rule, WINDOW, 'once');
      return { result, proxy, lines };
    } finally {
      await client.close();
      await proxy.close();
    }
  }

  test('slow answers, 503s and dropped connections on reads: retried, same alerts', async () => {
    const index = `${env.prefix}-alerts-a`;
    // Counted per search (not per request), so the refusals land however many pages a busy
    // cluster's page growth leaves: the first search is refused with 503, its retry dropped.
    let searches = 0;
    let refused = 0;
    const { result, proxy } = await runThrough((_method, path) => {
      if (!path.includes('_search')) return { delayMs: 30 };
      const k = ++searches;
      const fault: Fault = k % 3 === 1 ? { status: 503 } : k % 5 === 2 ? { drop: true } : { delayMs: 30 };
      if (!fault.delayMs) refused++;
      return fault;
    }, index);
    assert.equal(result.record.status, 'succeeded', result.record.error);
    assert.ok(refused >= 2 && proxy.seen.filter((s) => s.includes('_search')).length > refused, `searches refused: ${refused} of ${searches}`);
    assert.deepEqual((await alertsIn(env.client, index)).map((a) => a._id).sort(), expected);
  });

  test('429 on the bulk request, then a partial bulk failure: per-item retry, every alert exactly once', async () => {
    const index = `${env.prefix}-alerts-b`;
    let bulks = 0;
    const { result } = await runThrough((_method, path) => {
      if (!path.split('?')[0].endsWith('/_bulk')) return undefined;
      bulks++;
      if (bulks === 1) return { status: 429 };
      if (bulks === 2) return { failItems: [0, 3, 7] };
      return undefined;
    }, index);
    assert.equal(result.record.status, 'succeeded', result.record.error);
    assert.equal(result.record.alertsWritten, 12);
    assert.equal(result.record.duplicatesSkipped, 0);
    assert.ok(bulks >= 3);
    assert.deepEqual((await alertsIn(env.client, index)).map((a) => a._id).sort(), expected);
  });

  test('items refused on every attempt: named in the log and the record, the execution is partial, the rest written', async () => {
    const index = `${env.prefix}-alerts-c`;
    // Always refuse one chosen alert (the smallest id), whatever bulk it comes in.
    const doomed = expected[0];
    const { result, lines } = await runThrough((_method, path) => (path.split('?')[0].endsWith('/_bulk') ? { failWhen: (action) => action.includes(doomed) } : undefined), index, { attempts: 3, baseDelayMs: 5 });
    assert.equal(result.record.status, 'partial');
    assert.equal(result.record.notWritten, 1);
    assert.match(result.record.error ?? '', /1 alert\(s\) not written to .*: [0-9a-f]{64} \(gave up after 3 attempts: 429/);
    const logged = lines().find((l) => l.level === 'error');
    assert.match(String(logged?.message), /[0-9a-f]{64}/);
    const written = (await alertsIn(env.client, index)).map((a) => a._id);
    assert.equal(written.length, 11);
    assert.deepEqual(expected.filter((id) => !written.includes(id)), [doomed]);
    assert.ok(String(result.record.error).includes(doomed), 'the record names the alert that was not written');
    // The next execution writes it: nothing is lost for good.
    const again = await runThrough(() => undefined, index);
    assert.equal(again.result.record.alertsWritten, 1);
    assert.deepEqual((await alertsIn(env.client, index)).map((a) => a._id).sort(), expected);
  });
});
