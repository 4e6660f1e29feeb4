/**
 * Late data after an outage (issue 12, loss 1), with the real Daemon: the cluster becomes
 * unreachable (a proxy drops every request, so the lease cannot be read; or the node is killed
 * with SIGKILL and started again) for longer than the rule's look-back; the shippers' queued events, stamped inside the outage, land a few seconds
 * after the cluster answers again. Every one of them must be alerted once: by the executions
 * that read the outage again while it settles, or by the daemon filling the recorded gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { loadConfig } from '../../src/config/env.js';
import { Metrics } from '../../src/ops/metrics.js';
import { Daemon } from '../../src/scheduler/daemon.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { createClient } from '../../src/search/client.js';
import { StateStore } from '../../src/state/store.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { ruleFromQuery } from '../helpers/rule-file.js';
import { killableNode, type KillableNode } from '../helpers/node.js';
import { installAlertsTemplate } from '../../src/alerts/writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The settle time of these daemons. The late events land 3 s after the first execution after
 * the outage finishes, plus a bulk request: on a busy machine that can pass 6 s after the tick
 * that starts the settle time, which is the documented limit (data later than the settle time
 * is not re-read). 60 s keeps the test about the guarantee, not the machine's load: 15 s failed
 * about one run in three under load, and 30 s still failed with the machine's two cores running
 * other test suites as well (load average above 10), when the first execution after the outage
 * alone took most of the settle time. A passing run waits only until every late event is alerted.
 */
const SETTLE_MS = 60_000;

async function waitFor(check: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until `done` says so (then a few ticks more, for duplicates to show) or `ms` passed. */
async function settleOrAll(ms: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done().catch(() => false)) {
      await sleep(6000);
      return;
    }
    await sleep(1000);
  }
}

describe('late data after an outage longer than the look-back', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  for (const variant of [
    { name: 'within the catch-up: 0 lost, 0 duplicated', maxCatchupMs: 3_600_000, gap: false },
    { name: 'beyond the catch-up: a recorded gap the daemon fills once settled, 0 lost, 0 duplicated', maxCatchupMs: 1000, gap: true },
  ]) {
    test(variant.name, async () => {
      const index = `${env.prefix}-late-${variant.gap ? 'g' : 'c'}`;
      await env.client.indices.create({ index, mappings: { properties: { '@timestamp': { type: 'date' }, event: { properties: { ingested: { type: 'date' }, action: { type: 'keyword' } } } } } });
      const rule = await ruleFromQuery({ ruleId: `late-${variant.gap ? 'g' : 'c'}-${env.prefix}`, query: 'process where event.action == "late"', indices: [index], from: 'now-4s', interval: '2s' });
      let down = false;
      const proxy = await startFaultProxy(esUrl(), () => (down ? { drop: true } : undefined));
      const client = createClient(loadConfig({ ELASTICSEARCH_URL: proxy.url, ELASTICSEARCH_REQUEST_TIMEOUT: '2s' }).elasticsearch);
      const { logger, lines } = captureLogger();
      const store = new StateStore(client, env.stateIndex, { logger });
      const daemon = new Daemon({ client, sink: new ElasticAlertSink(client, env.alertsIndex), store, logger, pageSize: 100, readMode: 'auto' }, [rule], variant.maxCatchupMs,
        { owner: 'late-test', fillGaps: true, settleMs: SETTLE_MS });
      const finished = () => lines().filter((l) => l.rule_id === rule.ruleId && l.message === 'execution finished');
      const planted: number[] = [];
      try {
        daemon.start();
        await waitFor(() => finished().length >= 1, 'a first execution');
        down = true;
        const outageStart = Date.now();
        for (let k = 1; k <= 5; k++) planted.push(outageStart + k * 1000);
        await sleep(9000);
        down = false;
        const before = finished().length;
        await waitFor(() => finished().length > before, 'the first execution after the outage');
        // The shippers' queue drains a moment after the cluster answers again.
        await sleep(3000);
        const landed = await env.client.bulk({ refresh: true, operations: planted.flatMap((t, k) => [{ index: { _index: index } }, {
          '@timestamp': new Date(t).toISOString(), event: { category: ['process'], action: 'late', ingested: new Date().toISOString() }, host: { id: `late-${k}` },
        }]) });
        assert.equal(landed.errors, false, 'the late events were indexed');
        // Past the settle time and a few ticks more, or until all are alerted (a slow cluster
        // makes executions slow; an event lost stays lost however long this waits, because once
        // settled the daemon no longer reads the outage's time).
        await settleOrAll(SETTLE_MS + 30_000, async () => (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId).length >= planted.length &&
          (!variant.gap || (await env.deps.store.unfilledGaps([rule.ruleId])).length === 0));
      } finally {
        await daemon.stop();
        await client.close();
        await proxy.close();
      }
      const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
      if (alerts.length !== planted.length && process.env.OUTAGE_TEST_DEBUG) console.log(JSON.stringify({ planted, lines: lines() }, null, 1));
      assert.deepEqual(alerts.map((a) => a.host.id).sort(), planted.map((_, k) => `late-${k}`), '0 lost');
      assert.equal(new Set(alerts.map((a) => a._id)).size, alerts.length, '0 duplicated');
      await env.client.indices.refresh({ index: env.stateIndex });
      const execs = await env.deps.store.executions(rule.ruleId, 200);
      const gaps = execs.filter((e) => e.gap);
      if (variant.gap) {
        assert.ok(gaps.length >= 1, 'the outage beyond the catch-up is a recorded gap');
        assert.deepEqual(await env.deps.store.unfilledGaps([rule.ruleId]), [], 'and it was filled');
      } else {
        assert.equal(gaps.length, 0);
      }
    });
  }

  test('events that came in later than the windows overlap (by event.ingested) make their time read again; the lag is recorded and measured', async () => {
    const index = `${env.prefix}-lag`;
    const rule = await ruleFromQuery({ ruleId: `lag-${env.prefix}`, query: 'process where event.action == "lag"', indices: [index], from: 'now-5m', interval: '1m' });
    const T = Date.parse('2026-11-12T12:00:00Z');
    const doc = (at: number, ingested: number) => ({ '@timestamp': new Date(at).toISOString(), event: { category: ['process'], action: 'lag', ingested: new Date(ingested).toISOString() } });
    const metrics = new Metrics();
    const deps = { ...env.deps, onRecord: (r: Parameters<Metrics['observe']>[0]) => metrics.observe(r) };
    // Lag of 30 s: within the 4-minute overlap, nothing to read again.
    await env.client.index({ index, refresh: true, document: doc(T - 60_000, T - 30_000) });
    const quick = await executeRule(deps, rule, { start: T - 5 * 60_000, end: T }, 'scheduled');
    assert.equal(quick.record.ingestLagMs, 30_000);
    assert.equal(quick.record.rereadFrom, undefined);
    // Lag of 10 minutes: an event as late would fall behind the next window's start.
    await env.client.index({ index, refresh: true, document: doc(T - 2 * 60_000, T + 8 * 60_000) });
    const late = await executeRule(deps, rule, { start: T - 5 * 60_000, end: T }, 'scheduled');
    assert.equal(late.record.ingestLagMs, 10 * 60_000);
    assert.equal(late.record.rereadFrom, T - 5 * 60_000, 'read again from the window start (the lag is longer than the window)');
    assert.equal((await env.deps.store.ruleState(rule.ruleId)).rereadFrom, T - 5 * 60_000, 'kept in the rule state');
    assert.match(await metrics.registry.metrics(), new RegExp(`lookout_ingest_lag_seconds\\{rule_id="${rule.ruleId}"\\} 600`));
  });
});

describe('Elasticsearch killed for longer than the look-back, with the real Daemon', () => {
  let node: KillableNode;
  before(async () => {
    node = await killableNode('outage-es');
  });
  after(async () => node?.dispose());

  test('the failed ticks of the outage are recorded once it is back; the late events are all alerted once', async () => {
    const admin = createClient(loadConfig({ ELASTICSEARCH_URL: node.url }).elasticsearch);
    const daemonClient = createClient(loadConfig({ ELASTICSEARCH_URL: node.url, ELASTICSEARCH_REQUEST_TIMEOUT: '5s' }).elasticsearch);
    const index = 'kill-late-events';
    await admin.indices.create({ index, mappings: { properties: { '@timestamp': { type: 'date' }, event: { properties: { ingested: { type: 'date' }, action: { type: 'keyword' } } } } } });
    await installAlertsTemplate(admin, 'kill-late-alerts');
    const store = new StateStore(daemonClient, 'kill-late-state');
    await store.install();
    const rule = await ruleFromQuery({ ruleId: 'kill-late', query: 'process where event.action == "late"', indices: [index], from: 'now-4s', interval: '2s' });
    const { logger, lines } = captureLogger();
    const daemon = new Daemon({ client: daemonClient, sink: new ElasticAlertSink(daemonClient, 'kill-late-alerts'), store, logger, pageSize: 100, readMode: 'auto' }, [rule], 3_600_000,
      { owner: 'kill-late', fillGaps: true, settleMs: SETTLE_MS });
    const finished = () => lines().filter((l) => l.message === 'execution finished');
    const planted: number[] = [];
    try {
      daemon.start();
      // Killed between ticks: an execution finishes (logs) before its record is written, and a
      // kill during that write would leave the whole outage to that one write, with no tick failing.
      await waitFor(() => finished().length >= 1 && daemon.inFlight === 0, 'a first execution, recorded');
      node.kill();
      const outageStart = Date.now();
      for (let k = 1; k <= 5; k++) planted.push(outageStart + k * 1000);
      await sleep(8000);
      await node.start();
      // The shippers' side: their bulk requests wait for the shards to be back, not for Lookout.
      await admin.cluster.health({ wait_for_status: 'yellow', timeout: '90s' });
      const before = finished().length;
      await waitFor(() => finished().length > before, 'the first execution after the restart', 180_000);
      await sleep(2000);
      const landed = await admin.bulk({ refresh: true, operations: planted.flatMap((t, k) => [{ index: { _index: index } }, {
        '@timestamp': new Date(t).toISOString(), event: { category: ['process'], action: 'late', ingested: new Date().toISOString() }, host: { id: `late-${k}` },
      }]) });
      assert.equal(landed.errors, false, 'the late events were indexed');
      await settleOrAll(SETTLE_MS + 30_000, async () => (await alertsIn(admin, 'kill-late-alerts')).length >= planted.length);
    } finally {
      await daemon.stop();
      await daemonClient.close();
    }
    try {
      const alerts = await alertsIn(admin, 'kill-late-alerts');
      if (alerts.length !== planted.length && process.env.OUTAGE_TEST_DEBUG) console.log(JSON.stringify({ planted, lines: lines() }, null, 1));
      assert.deepEqual(alerts.map((a) => a.host.id).sort(), planted.map((_, k) => `late-${k}`), '0 lost');
      assert.equal(new Set(alerts.map((a) => a._id)).size, alerts.length, '0 duplicated');
      // A tick during the outage either could not start (the lease) or failed mid-execution
      // (then it holds the rule until the client gives up): either way it is recorded.
      assert.ok(lines().some((l) => /^execution (could not start|failed)/.test(String(l.message))), 'ticks failed during the outage');
      await admin.indices.refresh({ index: 'kill-late-state' });
      const failed = await admin.count({ index: 'kill-late-state', query: { bool: { filter: [{ term: { doc_type: 'execution' } }, { term: { status: 'failed' } }] } } });
      assert.ok(failed.count >= 1, 'the ticks of the outage were recorded once the cluster was back');
    } finally {
      await admin.close();
    }
  });
});
