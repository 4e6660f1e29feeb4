/**
 * Executions against the real server: deduplication across overlapping runs and a restart,
 * the max_signals cap, missing indices, an unreachable cluster, a bad rule among good ones,
 * execution records and gaps, backfill across window boundaries and its resumption, and the
 * equivalence of `lookout test-rule` with `lookout run --once`.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents } from '../../src/demo/load.js';
import { loadConfig } from '../../src/config/env.js';
import { createClient } from '../../src/search/client.js';
import { backfillRule } from '../../src/scheduler/backfill.js';
import { Daemon } from '../../src/scheduler/daemon.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { scheduledWindow } from '../../src/scheduler/window.js';
import { StateStore } from '../../src/state/store.js';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { runCli } from '../helpers/cli.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { SHIPPED_RULE_FILE, shippedRule } from '../helpers/rules.js';

const MIN = 60_000;

describe('executions on the real server', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('overlapping runs and a restart write each alert once', async () => {
    const rule = await shippedRule({ indices: [`${env.prefix}-events-dedup-*`] });
    const now = Date.parse('2026-11-25T12:00:00Z');
    const data = generateDataset({ seed: 11, start: now - 12 * MIN, end: now, noiseEvents: 1500, attacks: 8, hosts: 30, indices: {
      defendNetwork: `${env.prefix}-events-dedup-net`, defendProcess: `${env.prefix}-events-dedup-proc`, winlogbeat: `${env.prefix}-events-dedup-wlb`,
    } });
    await indexEvents(env.client, data.events);
    // Run 1 at now-5m with the normal window; run 2 at now overlaps it by 4 minutes.
    const r1 = await executeRule(env.deps, rule, scheduledWindow(rule, now - 5 * MIN, undefined, 60 * MIN), 'scheduled');
    const r2 = await executeRule(env.deps, rule, scheduledWindow(rule, now, now - 5 * MIN, 60 * MIN), 'scheduled');
    // A restart: a new client, sink and store on the same indices; its window reaches back to the
    // last successful end, which it reads from the state index.
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: esUrl() }).elasticsearch);
    try {
      const store = new StateStore(client, env.stateIndex);
      const state = await store.ruleState(rule.ruleId);
      assert.equal(state.lastSuccessEnd, now);
      const later = now + 20 * MIN;
      const w = scheduledWindow(rule, later, state.lastSuccessEnd, 60 * MIN);
      assert.equal(w.start, now - 4 * MIN, 'continues from the last successful window');
      const deps = { ...env.deps, client, store, sink: new ElasticAlertSink(client, env.alertsIndex) };
      const r3 = await executeRule(deps, rule, { start: now - 20 * MIN, end: later }, 'scheduled');
      const alerts = await alertsIn(env.client, env.alertsIndex);
      const planted = new Set(data.attacks.map((a) => a.hostId));
      assert.equal(alerts.filter((a) => planted.has(a.host.id)).length, 8);
      assert.equal(new Set(alerts.map((a) => a._id)).size, alerts.length);
      assert.equal(r1.record.alertsWritten + r2.record.alertsWritten + r3.record.alertsWritten, alerts.length);
      assert.ok(r2.record.duplicatesSkipped > 0, 'the overlap found duplicates');
      assert.equal(r3.record.alertsWritten, 0);
      assert.equal(r3.record.duplicatesSkipped, alerts.length);
    } finally {
      await client.close();
    }
    await env.client.indices.refresh({ index: env.stateIndex });
    const execs = await env.deps.store.executions(rule.ruleId);
    assert.equal(execs.length, 3);
    for (const e of execs) {
      for (const field of ['rule_id', 'window', 'status', 'events_read', 'alerts_written', 'duplicates_skipped', 'truncated', 'duration_ms']) {
        assert.ok(field in e, `execution record has ${field}`);
      }
    }
  });

  test('max_signals: 100 new alerts per execution, the rest recorded as truncated and written next time', async () => {
    const env2 = await testEnv();
    try {
      const rule = await shippedRule({ indices: [`${env2.prefix}-events-*`] });
      const data = generateDataset({ seed: 12, start: 0, end: 10 * 3_600_000, noiseEvents: 0, attacks: 150, hosts: 3, indices: {
        defendNetwork: `${env2.prefix}-events-n`, defendProcess: `${env2.prefix}-events-p`, winlogbeat: `${env2.prefix}-events-w`,
      } });
      await indexEvents(env2.client, data.events);
      const window = { start: 0, end: 10 * 3_600_000 };
      const first = await executeRule(env2.deps, rule, window, 'once');
      assert.equal(first.record.alertsWritten, 100);
      assert.equal(first.record.truncated, true);
      assert.equal(first.record.notWritten, 50);
      assert.ok(env2.logs().some((l) => String(l.message).includes('max_signals reached: 50 new alert(s) not written')));
      const second = await executeRule(env2.deps, rule, window, 'once');
      assert.equal(second.record.alertsWritten, 50);
      assert.equal(second.record.duplicatesSkipped, 100);
      assert.equal(second.record.truncated, false);
      assert.equal((await alertsIn(env2.client, env2.alertsIndex)).length, 150);
    } finally {
      await env2.close();
    }
  });

  test('missing indices are not an error', async () => {
    const rule = await shippedRule({ indices: [`${env.prefix}-nothing-*`, `${env.prefix}-absent`] });
    for (const mode of ['pit', 'scroll'] as const) {
      const { record } = await executeRule({ ...env.deps, readMode: mode }, rule, { start: 0, end: Date.now() }, 'once');
      assert.equal(record.status, 'succeeded', `${mode}: ${record.error}`);
      assert.equal(record.eventsRead, 0);
    }
  });

  test('a gap beyond the catch-up bound is recorded and logged', async () => {
    const rule = await shippedRule({ ruleId: `gap-${env.prefix}`, indices: [`${env.prefix}-nothing-*`] });
    const now = Date.now();
    const w = scheduledWindow(rule, now, now - 6 * 60 * MIN, 60 * MIN);
    const { record } = await executeRule(env.deps, rule, w, 'scheduled');
    assert.deepEqual(record.gap, { start: now - 6 * 60 * MIN - 4 * MIN, end: now - 69 * MIN + 4 * MIN }, 'the unread time and the overlap a sequence needs on both sides');
    assert.ok(env.logs().some((l) => String(l.message).startsWith('gap in rule executions') && l.rule_id === rule.ruleId));
    await env.client.indices.refresh({ index: env.stateIndex });
    const [rec] = await env.deps.store.executions(rule.ruleId, 1);
    assert.equal((rec.gap as { ms: number }).ms, 6 * 60 * MIN - 69 * MIN + 8 * MIN);
  });

  test('backfill: a sequence straddling a window boundary is found once; a re-run resumes and writes nothing', async () => {
    const env3 = await testEnv();
    try {
      const rule = await shippedRule({ indices: [`${env3.prefix}-events-*`] });
      const from = Date.parse('2026-11-01T00:00:00Z');
      const boundary = from + 3_600_000;
      const host = { id: 'straddle', name: 'straddle', os: { type: 'windows' } };
      const events = [
        { index: `${env3.prefix}-events-n`, id: 's-n', source: { '@timestamp': new Date(boundary - 10_000).toISOString(), event: { category: ['network'] }, host, process: { pid: 4 }, network: { direction: 'ingress' }, destination: { port: 5985 }, source: { ip: '10.9.9.9' } } },
        { index: `${env3.prefix}-events-p`, id: 's-p', source: { '@timestamp': new Date(boundary + 10_000).toISOString(), event: { category: ['process'], type: ['start'] }, host, process: { name: 'cmd.exe', executable: 'C:\\Windows\\System32\\cmd.exe', parent: { name: 'winrshost.exe' } } } },
      ];
      await indexEvents(env3.client, events);
      const progress: number[] = [];
      const r = await backfillRule(env3.deps, rule, { from, to: from + 3 * 3_600_000, stepMs: 3_600_000, onProgress: (d) => progress.push(d) });
      assert.equal(r.failed, false);
      assert.equal(r.windows, 3);
      assert.deepEqual(progress, [1, 2, 3]);
      assert.equal(r.alertsWritten, 1);
      const alerts = await alertsIn(env3.client, env3.alertsIndex);
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]['kibana.alert.severity'], 'high');
      const again = await backfillRule(env3.deps, rule, { from, to: from + 3 * 3_600_000, stepMs: 3_600_000 });
      assert.equal(again.windows, 0, 'resumed after the last completed window');
      assert.equal(again.resumedFrom, from + 3 * 3_600_000);
      // Over the same period with another step: a new backfill, same alerts, no duplicates.
      const other = await backfillRule(env3.deps, rule, { from, to: from + 3 * 3_600_000 + MIN, stepMs: 1_800_000 });
      assert.equal(other.alertsWritten, 0);
      assert.equal(other.duplicates, 1);
      assert.equal((await alertsIn(env3.client, env3.alertsIndex)).length, 1);
    } finally {
      await env3.close();
    }
  });
});

describe('the CLI against the real server', () => {
  let env: TestEnv;
  let rulesDir: string;
  let cliEnv: NodeJS.ProcessEnv;
  before(async () => {
    env = await testEnv();
    rulesDir = await mkdtemp(join(tmpdir(), 'lookout-cli-rules-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
    cliEnv = { ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex };
  });
  after(async () => env?.close());

  test('run --once and test-rule give the same alerts for the same events', async () => {
    // The shipped rule reads winlogbeat-* and logs-endpoint.events.*: use those names, unique to this test.
    const tag = env.prefix;
    const now = Date.now();
    const indices = { defendNetwork: `logs-endpoint.events.network-${tag}`, defendProcess: `logs-endpoint.events.process-${tag}`, winlogbeat: `winlogbeat-${tag}` };
    const data = generateDataset({ seed: 21, start: now - 7 * MIN, end: now - MIN, noiseEvents: 1200, attacks: 7, hosts: 30, idPrefix: tag, indices });
    try {
      await indexEvents(env.client, data.events);
      const r = await runCli(['run', '--once'], cliEnv);
      assert.equal(r.code, 0, r.stderr);
      const written = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a.lookout.events[0].index.endsWith(tag));
      assert.equal(written.length, 7);
      const dir = await mkdtemp(join(tmpdir(), 'lookout-eq-'));
      const file = join(dir, 'hits.ndjson');
      const hits = await env.client.search({ index: Object.values(indices).join(','), size: 10_000 });
      await writeFile(file, hits.hits.hits.map((h) => JSON.stringify({ _index: h._index, _id: h._id, _source: h._source })).join('\n'));
      const t = await runCli(['test-rule', join(rulesDir, 'winrm.toml'), '--events', file]);
      assert.equal(t.code, 0, t.stderr);
      const offline = t.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const strip = (d: Record<string, any>) => {
        const { '@timestamp': _t, 'kibana.alert.start': _s, 'kibana.alert.last_detected': _l, _id, _index, ...rest } = d;
        const { execution_id: _e, ...lookout } = rest.lookout;
        return { ...rest, lookout };
      };
      assert.deepEqual(offline.map((a) => a._id).sort(), written.map((a) => a._id).sort());
      const byId = new Map(written.map((a) => [a._id, a]));
      for (const a of offline) assert.deepEqual(strip(a._source), strip(byId.get(a._id)!), 'same document apart from times and execution id');
      // And once more: nothing new.
      const again = await runCli(['run', '--once'], cliEnv);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /"alerts_written":0/);
    } finally {
      await env.client.indices.delete({ index: Object.values(indices).join(','), ignore_unavailable: true });
    }
  });

  test('a disabled rule beside an enabled one: run --once says it is not run and runs only the enabled one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-cli-off-'));
    await copyFile(SHIPPED_RULE_FILE, join(dir, 'good.toml'));
    const shipped = await readFile(SHIPPED_RULE_FILE, 'utf8');
    await writeFile(join(dir, 'off.toml'), shipped.replace('type = "eql"', 'type = "eql"\nenabled = false').replace(/rule_id = "[^"]+"/, 'rule_id = "off-1"'));
    const r = await runCli(['run', '--once'], { ...cliEnv, LOOKOUT_RULES_DIR: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /"message":"rule disabled \(enabled = false\): loaded, not run".*"rule_id":"off-1"/);
    assert.match(r.stderr, /1 rule\(s\) loaded, 1 disabled \(not run\), 0 skipped, 0 with errors/);
    const finished = r.stderr.split('\n').filter((l) => l.includes('"message":"execution finished"'));
    assert.equal(finished.length, 1);
    assert.doesNotMatch(finished[0], /off-1/);
    const one = await runCli(['backfill', '--rule', 'off-1', '--from', new Date(Date.now() - 10 * MIN).toISOString(), '--to', new Date().toISOString()], { ...cliEnv, LOOKOUT_RULES_DIR: dir });
    assert.equal(one.code, 1);
    assert.match(one.stderr, /rule_id off-1 is disabled \(enabled = false in .*off\.toml\): it is not run/);
  });

  test('a malformed rule file among good ones: the good rule still runs, the exit status says it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-cli-bad-'));
    await copyFile(SHIPPED_RULE_FILE, join(dir, 'good.toml'));
    await writeFile(join(dir, 'broken.toml'), '[rule]\nrule_id = "x"\nquery = """process where"""\n');
    const r = await runCli(['run', '--once'], { ...cliEnv, LOOKOUT_RULES_DIR: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rule not loaded: .*broken\.toml:\d+:\d+: rule\./);
    assert.match(r.stderr, /"message":"execution finished"/);
  });

  test('an unreachable cluster: a clear error, exit 1', async () => {
    const r = await runCli(['run', '--once'], { ...cliEnv, ELASTICSEARCH_URL: 'http://user:s3cret@127.0.0.1:9', ELASTICSEARCH_REQUEST_TIMEOUT: '2s' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach Elasticsearch at http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:9/);
    assert.doesNotMatch(r.stderr, /s3cret/);
  });

  test('the daemon survives an unreachable cluster and stops cleanly', async () => {
    const { logger, lines } = captureLogger();
    const dead = createClient(loadConfig({ ELASTICSEARCH_URL: 'http://127.0.0.1:9', ELASTICSEARCH_REQUEST_TIMEOUT: '1s' }).elasticsearch);
    const rule = await shippedRule({ intervalMs: 1000 });
    const daemon = new Daemon({ ...env.deps, client: dead, logger, store: new StateStore(dead, env.stateIndex), sink: new ElasticAlertSink(dead, env.alertsIndex, { attempts: 1, baseDelayMs: 1 }) }, [rule], 60 * MIN);
    daemon.start();
    await new Promise((r) => setTimeout(r, 3500));
    await daemon.stop();
    await dead.close();
    const logged = lines();
    const errors = logged.filter((l) => l.level === 'error');
    assert.ok(errors.length >= 1, 'the failure is logged');
    assert.match(String(errors[0].message), /execution could not start: cannot read rule:.* from .*ConnectionError|connect ECONNREFUSED/);
    // Ticks keep coming while the cluster is down: each either runs or is skipped, never doubled.
    const ticks = errors.length + logged.filter((l) => String(l.message).startsWith('previous execution still running')).length;
    assert.ok(ticks >= 3, `ticks seen: ${ticks}`);
    assert.equal(daemon.inFlight, 0);
  });
});
