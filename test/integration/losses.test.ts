/**
 * Ways alerts were lost or records lied (issue 12), each injected for real against the server:
 * an event whose fields do not fit the alerts template, a search answer with failed shards,
 * ticks that cannot start while the cluster is down, gaps too tight to backfill.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { loadConfig } from '../../src/config/env.js';
import { createClient } from '../../src/search/client.js';
import { Daemon } from '../../src/scheduler/daemon.js';
import { StateStore } from '../../src/state/store.js';
import { Metrics } from '../../src/ops/metrics.js';
import { backfillRule } from '../../src/scheduler/backfill.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { scheduledWindow } from '../../src/scheduler/window.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { ruleFromQuery, writeRuleFile } from '../helpers/rule-file.js';
import { runCli } from '../helpers/cli.js';
import { dirname } from 'node:path';
import { fillGaps } from '../../src/scheduler/gaps.js';

const T0 = Date.parse('2026-11-12T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('an alert always fits the alerts index', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('an event with an object where the template has a keyword: the alert is written, the field kept as JSON and named', async () => {
    // A dynamically mapped index (no template) accepts process.name as an object.
    const index = `${env.prefix}-dyn-events`;
    await env.client.index({ index, id: 'odd', refresh: true, document: {
      '@timestamp': iso(T0 + 1000), event: { category: ['process'], action: 'fit-test' },
      host: { name: 'h1', ip: 'not-an-ip' }, process: { name: { first: 'cmd.exe' }, pid: 42, parent: 'explorer.exe' },
    } });
    const rule = await ruleFromQuery({ ruleId: `fit-${env.prefix}`, query: 'process where event.action == "fit-test"', indices: [index] });
    const { record } = await executeRule(env.deps, rule, { start: T0, end: T0 + 60_000 }, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    assert.equal(record.alertsWritten, 1);
    const [alert] = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    assert.ok(alert, 'the alert was written');
    assert.equal(alert.process.pid, 42, 'what fits is copied');
    assert.equal(alert.process.name, undefined);
    assert.deepEqual([...alert.lookout.unmapped_fields].sort(), ['host.ip', 'process.name', 'process.parent']);
    assert.deepEqual(JSON.parse(alert.lookout.unmapped_source), { 'host.ip': 'not-an-ip', 'process.name': { first: 'cmd.exe' }, 'process.parent': 'explorer.exe' });
    // The alert is searchable by what was kept.
    await env.client.indices.refresh({ index: env.alertsIndex });
    const found = await env.client.count({ index: env.alertsIndex, query: { term: { 'lookout.unmapped_fields': 'process.name' } } });
    assert.equal(found.count, 1);
  });
});

describe('a search answer with failed shards is not taken as complete', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  for (const readMode of ['pit', 'scroll'] as const) {
    test(`one index maps @timestamp as text (${readMode}): the execution is partial, the failure named in the record, log and metric, the window not advanced`, async () => {
      const good = `${env.prefix}-sf${readMode}-good`;
      const bad = `${env.prefix}-sf${readMode}-bad`;
      await env.client.indices.create({ index: good, mappings: { properties: { '@timestamp': { type: 'date' } } } });
      await env.client.indices.create({ index: bad, mappings: { properties: { '@timestamp': { type: 'text' } } } });
      for (const index of [good, bad]) {
        await env.client.index({ index, refresh: true, document: { '@timestamp': iso(T0 + 1000), event: { category: ['process'], action: 'shard-test' }, host: { name: index } } });
      }
      const rule = await ruleFromQuery({ ruleId: `sf-${readMode}-${env.prefix}`, query: 'process where event.action == "shard-test"', indices: [`${env.prefix}-sf${readMode}-*`] });
      const metrics = new Metrics();
      const deps = { ...env.deps, readMode, onRecord: (r: Parameters<Metrics['observe']>[0]) => metrics.observe(r) };
      const { record } = await executeRule(deps, rule, { start: T0, end: T0 + 60_000 }, 'scheduled');
      assert.equal(record.status, 'partial');
      assert.ok(record.shardFailures && record.shardFailures.length >= 1, 'shard failures in the record');
      assert.match(record.shardFailures![0], new RegExp(bad));
      assert.match(String(record.error), /shard/);
      const logged = env.logs().find((l) => l.rule_id === rule.ruleId && l.level === 'error');
      assert.match(String(logged?.message), /shard/);
      assert.match(await metrics.registry.metrics(), new RegExp(`lookout_shard_failures_total\\{rule_id="${rule.ruleId}"\\} [1-9]`));
      assert.equal((await env.deps.store.ruleState(rule.ruleId)).lastSuccessEnd, undefined, 'the window is not advanced');
    });
  }
});

describe('every tick leaves a record', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('ticks that cannot start while the cluster is down are recorded (queued, written once it is back) and counted by reason', async () => {
    let down = false;
    const proxy = await startFaultProxy(esUrl(), () => (down ? { drop: true } : undefined));
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: proxy.url, ELASTICSEARCH_REQUEST_TIMEOUT: '2s' }).elasticsearch);
    const rule = await ruleFromQuery({ ruleId: `tick-${env.prefix}`, query: 'process where event.action == "never"', indices: [`${env.prefix}-tick-*`], from: 'now-5s', interval: '1s' });
    const { logger, lines } = captureLogger();
    const metrics = new Metrics();
    const store = new StateStore(client, env.stateIndex);
    const daemon = new Daemon({ client, sink: new ElasticAlertSink(client, env.alertsIndex), store, logger, pageSize: 100, readMode: 'auto' }, [rule], 3_600_000, { owner: 'tick-test', metrics });
    try {
      daemon.start();
      await waitFor(() => lines().some((l) => l.message === 'execution finished'), 'a first execution');
      down = true;
      await waitFor(() => lines().filter((l) => String(l.message).startsWith('execution could not start')).length >= 2, 'two ticks that cannot start', 90_000).catch((err) => {
        console.log(lines().map((l) => JSON.stringify(l)).join('\n'));
        throw err;
      });
      assert.ok(store.unrecorded >= 2, `records waiting: ${store.unrecorded}`);
      const text = await metrics.registry.metrics();
      assert.match(text, new RegExp(`lookout_executions_not_started_total\\{rule_id="${rule.ruleId}",reason="cluster_unreachable"\\} [2-9]`));
      assert.match(text, new RegExp(`lookout_executions_total\\{rule_id="${rule.ruleId}",status="failed"\\} [2-9]`));
      down = false;
      await waitFor(() => store.unrecorded === 0 && lines().filter((l) => l.message === 'execution finished').length >= 2, 'the records written once the cluster is back', 90_000);
    } finally {
      await daemon.stop();
      await client.close();
      await proxy.close();
    }
    await env.client.indices.refresh({ index: env.stateIndex });
    const notStarted = await env.client.search<Record<string, unknown>>({ index: env.stateIndex, size: 100, query: { bool: { filter: [{ term: { doc_type: 'execution' } }, { term: { rule_id: rule.ruleId } }, { term: { status: 'failed' } }] } } });
    assert.ok(notStarted.hits.hits.length >= 2, `failed records: ${notStarted.hits.hits.length}`);
    for (const h of notStarted.hits.hits) {
      assert.equal(h._source?.not_started, 'cluster_unreachable');
      assert.match(String(h._source?.error), /lease/);
    }
  });

  test('records waiting for the cluster past the cap: the drop is logged, counted, and marked in the state index once the cluster is back', async () => {
    let down = true;
    const proxy = await startFaultProxy(esUrl(), () => (down ? { status: 503 } : undefined));
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: proxy.url, ELASTICSEARCH_REQUEST_TIMEOUT: '2s' }).elasticsearch);
    const { logger, lines } = captureLogger();
    const rec = (i: number) => ({
      executionId: `${env.prefix}-cap-${i}`, ruleId: `cap-${env.prefix}`, ruleName: 'cap', kind: 'scheduled' as const, status: 'failed' as const,
      startedAt: T0 + i * 1000, finishedAt: T0 + i * 1000, window: { start: T0, end: T0 + i * 1000 }, eventsRead: 0, eventsSkipped: 0,
      matches: 0, alertsWritten: 0, duplicatesSkipped: 0, truncated: false, notWritten: 0, error: 'down',
    });
    try {
      const store = new StateStore(client, env.stateIndex, { maxWaiting: 3, logger });
      const metrics = new Metrics();
      metrics.watchStore(store);
      for (let i = 0; i < 5; i++) await store.record(rec(i)).catch(() => undefined);
      assert.equal(store.unrecorded, 3);
      assert.equal(store.dropped, 2);
      assert.ok(lines().some((l) => l.level === 'error' && /dropped/.test(String(l.message))), 'the drop is logged');
      assert.match(await metrics.registry.metrics(), /lookout_records_dropped_total 2/);
      down = false;
      await store.record(rec(5));
      assert.equal(store.unrecorded, 0);
    } finally {
      await client.close();
      await proxy.close();
    }
    await env.client.indices.refresh({ index: env.stateIndex });
    const marker = await env.client.search<Record<string, unknown>>({ index: env.stateIndex, query: { term: { doc_type: 'records_dropped' } } });
    assert.equal(marker.hits.hits.length, 1);
    assert.equal(marker.hits.hits[0]._source?.count, 2);
    assert.deepEqual(marker.hits.hits[0]._source?.rule_ids, [`cap-${env.prefix}`]);
  });
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a recorded gap is wide enough to backfill', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('sequences across both edges of a gap are found by a backfill of the recorded gap', async () => {
    const index = `${env.prefix}-gap-events`;
    const rule = await ruleFromQuery({
      ruleId: `gap-${env.prefix}`, indices: [index], from: 'now-2m', interval: '1m',
      query: 'sequence by host.id with maxspan=30s [process where event.action == "gap-a"] [process where event.action == "gap-b"]',
    });
    const L = T0;
    const now = T0 + 30 * 60_000;
    const maxCatchup = 5 * 60_000;
    const E = now - rule.lookbackMs - maxCatchup;
    const ev = (host: string, action: string, at: number) => ({ '@timestamp': iso(at), event: { category: ['process'], action }, host: { id: host } });
    // h-start: first event before the last successful window's end, second inside the gap;
    // h-end: first event inside the gap, second after the gap's end (in the catch-up window).
    const docs = [ev('h-start', 'gap-a', L - 10_000), ev('h-start', 'gap-b', L + 10_000), ev('h-end', 'gap-a', E - 10_000), ev('h-end', 'gap-b', E + 5_000)];
    await env.client.bulk({ refresh: true, operations: docs.flatMap((d) => [{ index: { _index: index } }, d]) });
    const last = await executeRule(env.deps, rule, scheduledWindow(rule, L, undefined, maxCatchup), 'scheduled');
    assert.equal(last.record.status, 'succeeded', last.record.error);
    const window = scheduledWindow(rule, now, (await env.deps.store.ruleState(rule.ruleId)).lastSuccessEnd, maxCatchup);
    const catchUp = await executeRule(env.deps, rule, window, 'scheduled');
    assert.ok(catchUp.record.gap, 'a gap is recorded');
    assert.equal(catchUp.record.alertsWritten, 0, 'neither sequence lies inside a window read');
    const filled = await backfillRule(env.deps, rule, { from: catchUp.record.gap!.start, to: catchUp.record.gap!.end });
    assert.equal(filled.failed, false, filled.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    assert.deepEqual(alerts.map((a) => a.host.id).sort(), ['h-end', 'h-start']);
  });

  test('lookout backfill --gaps fills every recorded gap (resumable, each marked filled): 0 lost, 0 duplicated', async () => {
    const index = `${env.prefix}-gaps2-events`;
    const options = {
      ruleId: `gaps2-${env.prefix}`, indices: [index], from: 'now-2m', interval: '1m',
      query: 'sequence by host.id with maxspan=30s [process where event.action == "gap-a"] [process where event.action == "gap-b"]',
    };
    const file = await writeRuleFile(options);
    const rule = await ruleFromQuery(options);
    const maxCatchup = 5 * 60_000;
    const ev = (host: string, action: string, at: number) => ({ '@timestamp': iso(at), event: { category: ['process'], action }, host: { id: host } });
    // Two outages, two gaps; one sequence inside each gap, one across each edge.
    const docs: Record<string, unknown>[] = [];
    const lasts = [T0, T0 + 4 * 3_600_000];
    const nows = lasts.map((l) => l + 3 * 3_600_000);
    lasts.forEach((l, k) => {
      const e = nows[k] - rule.lookbackMs - maxCatchup;
      docs.push(ev(`s${k}`, 'gap-a', l - 10_000), ev(`s${k}`, 'gap-b', l + 10_000));
      docs.push(ev(`m${k}`, 'gap-a', l + 3_600_000), ev(`m${k}`, 'gap-b', l + 3_600_000 + 5_000));
      docs.push(ev(`e${k}`, 'gap-a', e - 10_000), ev(`e${k}`, 'gap-b', e + 5_000));
    });
    await env.client.bulk({ refresh: true, operations: docs.flatMap((d) => [{ index: { _index: index } }, d]) });
    for (let k = 0; k < 2; k++) {
      await executeRule(env.deps, rule, scheduledWindow(rule, lasts[k], undefined, maxCatchup), 'scheduled');
      const w = scheduledWindow(rule, nows[k], (await env.deps.store.ruleState(rule.ruleId)).lastSuccessEnd, maxCatchup);
      assert.ok(w.gap);
      await executeRule(env.deps, rule, w, 'scheduled');
    }
    await env.client.indices.refresh({ index: env.stateIndex });
    assert.equal((await env.deps.store.unfilledGaps([rule.ruleId])).length, 2);
    // Stopped after one chunk of 30 minutes: the first gap is noted as partly filled.
    const part = await fillGaps(env.deps, [rule], { chunkMs: 30 * 60_000, maxChunks: 1 });
    assert.equal(part.chunks, 1);
    const [first] = await env.deps.store.unfilledGaps([rule.ruleId]);
    assert.equal(first.filledUntil, first.start + 30 * 60_000, 'progress kept');
    const vars = { ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: dirname(file), LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex };
    const cli = await runCli(['backfill', '--gaps'], vars);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /2 of 2 recorded gap\(s\) filled/);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    assert.deepEqual(alerts.map((a) => a.host.id).sort(), ['e0', 'e1', 'm0', 'm1', 's0', 's1'], '0 lost');
    assert.equal(new Set(alerts.map((a) => a._id)).size, alerts.length, '0 duplicated');
    const again = await runCli(['backfill', '--gaps'], vars);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 of 0 recorded gap\(s\) filled/, 'filled gaps are not read again');
  });
});
