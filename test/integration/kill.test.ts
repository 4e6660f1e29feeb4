/**
 * Killing things for real. Elasticsearch killed with SIGKILL in the middle of a backfill and
 * started again on the same data; the runner killed with SIGKILL in the middle of a backfill
 * and started again. Either way the final alerts equal those of a clean run: none lost, none
 * doubled; and the execution that failed while the cluster was down is recorded once it is back.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink, installAlertsTemplate } from '../../src/alerts/writer.js';
import { loadConfig } from '../../src/config/env.js';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents, installEventTemplate } from '../../src/demo/load.js';
import { createClient } from '../../src/search/client.js';
import { backfillRule } from '../../src/scheduler/backfill.js';
import { StateStore } from '../../src/state/store.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { killableNode, type KillableNode } from '../helpers/node.js';
import { REPO, SHIPPED_RULE_FILE, shippedRule } from '../helpers/rules.js';

const run = promisify(execFile);
const FROM = Date.UTC(2026, 8, 1);
const TO = FROM + 6 * 3_600_000;

describe('Elasticsearch killed during a backfill', () => {
  let node: KillableNode;
  let url: string;
  before(async () => {
    node = await killableNode('kill-es');
    url = node.url;
  });
  after(async () => node?.dispose());

  test('the backfill stops, resumes after a restart, and the alerts equal a clean run', async () => {
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: url, ELASTICSEARCH_REQUEST_TIMEOUT: '15s' }).elasticsearch);
    const indices = { defendNetwork: 'kill-events-n', defendProcess: 'kill-events-p', winlogbeat: 'kill-events-w' };
    await installEventTemplate(client, 'kill-events', Object.values(indices));
    await indexEvents(client, generateDataset({ seed: 51, start: FROM, end: TO, noiseEvents: 2000, attacks: 24, hosts: 20, indices }).events);
    const rule = await shippedRule({ indices: ['kill-events-*'] });
    const { logger } = captureLogger();
    const deps = (c: typeof client, alerts: string) => ({ client: c, sink: new ElasticAlertSink(c, alerts, { attempts: 2, baseDelayMs: 10 }), store: new StateStore(c, 'kill-state'), logger, pageSize: 200, readMode: 'auto' as const });
    for (const index of ['kill-alerts-clean', 'kill-alerts']) await installAlertsTemplate(client, index);
    await new StateStore(client, 'kill-state').install();
    // The clean run, for comparison (a range of its own, so its progress is its own).
    await backfillRule(deps(client, 'kill-alerts-clean'), rule, { from: FROM, to: TO + 1, stepMs: 30 * 60_000 });
    const expected = (await alertsIn(client, 'kill-alerts-clean')).map((a) => a._id).sort();
    assert.equal(expected.length, 24);

    const d = deps(client, 'kill-alerts');
    const first = await backfillRule(d, rule, {
      from: FROM, to: TO, stepMs: 30 * 60_000,
      onProgress: (done) => {
        if (done === 4) node.kill();
      },
    });
    assert.equal(first.failed, true, 'the window after the kill fails');
    assert.ok(first.windows >= 4 && first.windows < 12);
    assert.equal(d.store.unrecorded, 1, 'the failed execution waits to be recorded');

    assert.equal(await node.start(), url, 'the same node, on the same port and data');
    const second = await backfillRule(d, rule, { from: FROM, to: TO, stepMs: 30 * 60_000 });
    assert.equal(second.failed, false, second.error);
    assert.ok(second.resumedFrom !== undefined && second.resumedFrom >= FROM + 4 * 30 * 60_000, 'resumed after the last completed window');
    assert.deepEqual((await alertsIn(client, 'kill-alerts')).map((a) => a._id).sort(), expected);
    await client.indices.refresh({ index: 'kill-state' });
    const failed = await client.search({ index: 'kill-state', query: { bool: { filter: [{ term: { doc_type: 'execution' } }, { term: { status: 'failed' } }] } } });
    assert.equal((failed.hits.total as { value: number }).value, 1, 'the failed execution was recorded once the cluster was back');
    await client.close();
  });
});

describe('Elasticsearch killed during scheduled runs', () => {
  let node: KillableNode;
  let url: string;
  before(async () => {
    node = await killableNode('kill-es2');
    url = node.url;
  });
  after(async () => node?.dispose());

  test('the run during the outage fails and is recorded later; the next run catches up; alerts equal a clean run', async () => {
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: url, ELASTICSEARCH_REQUEST_TIMEOUT: '15s' }).elasticsearch);
    const indices = { defendNetwork: 'sched-events-n', defendProcess: 'sched-events-p', winlogbeat: 'sched-events-w' };
    const T = Date.UTC(2026, 8, 2);
    await installEventTemplate(client, 'sched-events', Object.values(indices));
    await indexEvents(client, generateDataset({ seed: 53, start: T - 9 * 60_000, end: T + 20 * 60_000, noiseEvents: 500, attacks: 12, hosts: 12, indices }).events);
    const rule = await shippedRule({ indices: ['sched-events-*'] });
    const { logger } = captureLogger();
    const store = new StateStore(client, 'sched-state');
    await store.install();
    for (const index of ['sched-alerts', 'sched-alerts-clean']) await installAlertsTemplate(client, index);
    const deps = { client, sink: new ElasticAlertSink(client, 'sched-alerts', { attempts: 2, baseDelayMs: 10 }), store, logger, pageSize: 200, readMode: 'auto' as const };
    const { executeRule } = await import('../../src/scheduler/execute.js');
    const { scheduledWindow } = await import('../../src/scheduler/window.js');
    // Clean: every 5 minutes, T .. T+20m.
    const cleanStore = new StateStore(client, 'sched-state-clean');
    await cleanStore.install();
    let last: number | undefined;
    for (let k = 0; k <= 4; k++) {
      const now = T + k * 5 * 60_000;
      await executeRule({ ...deps, store: cleanStore, sink: new ElasticAlertSink(client, 'sched-alerts-clean') }, rule, scheduledWindow(rule, now, last, 3_600_000), 'scheduled');
      last = now;
    }
    const expected = (await alertsIn(client, 'sched-alerts-clean')).map((a) => a._id).sort();
    assert.equal(expected.length, 12);

    const schedule = async (now: number) => {
      const state = await store.ruleState(rule.ruleId).catch(() => ({ lastSuccessEnd: undefined }));
      return executeRule(deps, rule, scheduledWindow(rule, now, state.lastSuccessEnd, 3_600_000), 'scheduled');
    };
    assert.equal((await schedule(T)).record.status, 'succeeded');
    node.kill();
    // Down for the runs at T+5m and T+10m.
    assert.equal((await schedule(T + 5 * 60_000)).record.status, 'failed');
    assert.equal((await schedule(T + 10 * 60_000)).record.status, 'failed');
    assert.equal(store.unrecorded, 2);
    assert.equal(await node.start(), url);
    const back = await schedule(T + 20 * 60_000);
    assert.equal(back.record.status, 'succeeded', back.record.error);
    assert.equal(back.record.window.start, T - 4 * 60_000, 'caught up from the last successful window (less the overlap)');
    assert.deepEqual((await alertsIn(client, 'sched-alerts')).map((a) => a._id).sort(), expected);
    assert.equal(store.unrecorded, 0);
    await client.indices.refresh({ index: 'sched-state' });
    const failed = await client.count({ index: 'sched-state', query: { bool: { filter: [{ term: { doc_type: 'execution' } }, { term: { status: 'failed' } }] } } });
    assert.equal(failed.count, 2, 'both failed executions recorded once the cluster was back');
    await client.close();
  });
});

describe('the runner killed during a backfill', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('a second run resumes; the alerts equal a clean run', async () => {
    const tag = env.prefix;
    const indices = { defendNetwork: `logs-endpoint.events.network-${tag}`, defendProcess: `logs-endpoint.events.process-${tag}`, winlogbeat: `winlogbeat-${tag}` };
    await indexEvents(env.client, generateDataset({ seed: 52, start: FROM, end: TO, noiseEvents: 3000, attacks: 36, hosts: 20, idPrefix: tag, indices }).events);
    const rulesDir = await mkdtemp(join(tmpdir(), 'lookout-kill-rules-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
    const envVars = (alerts: string) => ({ ...process.env, ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: alerts, LOOKOUT_STATE_INDEX: env.stateIndex, LOOKOUT_LOG_FORMAT: 'json' });
    const args = (to: number) => [join(REPO, 'bin/lookout.js'), 'backfill', '--from', new Date(FROM).toISOString(), '--to', new Date(to).toISOString(), '--step', '5m'];
    try {
      const clean = await run(process.execPath, args(TO + 1), { env: envVars(`${tag}-alerts-clean`) });
      assert.match(clean.stderr, /backfill finished/);
      const expected = (await alertsIn(env.client, `${tag}-alerts-clean`)).filter((a) => a.lookout.events[0].index.endsWith(tag)).map((a) => a._id).sort();
      assert.equal(expected.length, 36);

      const child = spawn(process.execPath, args(TO), { env: envVars(env.alertsIndex), stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.on('data', (c) => (log += c));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      while ((log.match(/"alerts_written":[1-9]/g) ?? []).length < 3 && !log.includes('backfill finished')) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.doesNotMatch(log, /backfill finished/, 'killed before the end');

      const resumed = await run(process.execPath, args(TO), { env: envVars(env.alertsIndex) });
      assert.match(resumed.stderr, /backfill finished/);
      assert.match(resumed.stderr, /"resumedFrom":\d+/);
      const got = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a.lookout.events[0].index.endsWith(tag)).map((a) => a._id).sort();
      assert.deepEqual(got, expected);
    } finally {
      await env.client.indices.delete({ index: Object.values(indices).join(','), ignore_unavailable: true });
    }
  });
});
