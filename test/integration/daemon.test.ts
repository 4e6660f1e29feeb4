/**
 * The daemon: `lookout run` as a real process (scheduled execution, SIGTERM stops it cleanly,
 * exit 0), and the rule that one rule never runs twice at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AlertSink } from '../../src/alerts/writer.js';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents } from '../../src/demo/load.js';
import { Daemon } from '../../src/scheduler/daemon.js';
import { alertsIn, captureLogger, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { REPO, SHIPPED_RULE_FILE, shippedRule } from '../helpers/rules.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/node.js';

describe('the daemon', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('lookout run executes the rule at start, serves /metrics and /healthz, and SIGTERM stops it cleanly', async () => {
    const rulesDir = await mkdtemp(join(tmpdir(), 'lookout-daemon-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO, 'bin/lookout.js'), 'run'], {
      env: { ...process.env, ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex, LOOKOUT_LOG_FORMAT: 'json', LOOKOUT_METRICS_PORT: String(port), LOOKOUT_INSTANCE_ID: 'daemon-test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (c) => (log += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!log.includes('"message":"execution finished"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(log, /"message":"scheduled every 300s"/);
      assert.match(log, /"cron":"0 \*\/5 \* \* \* \*"/);
      assert.match(log, /"message":"execution finished"/);
      // The log line comes before the record is counted: wait for the counter.
      let metrics = '';
      for (let i = 0; i < 100 && !/lookout_executions_total\{/.test(metrics); i++) {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (!/lookout_executions_total\{/.test(metrics)) await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(metrics, /lookout_executions_total\{rule_id="1cd01db9-be24-4bef-8e7c-e923f0ff78ab",status="succeeded"\} 1/);
      assert.match(metrics, /lookout_lease_held\{rule_id="1cd01db9-be24-4bef-8e7c-e923f0ff78ab"\} 1/);
      assert.match(metrics, /lookout_execution_duration_seconds_bucket/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const body = await health.json() as { status: string; latest: Record<string, { status: string }> };
      assert.equal(body.status, 'ok');
      assert.equal(body.latest['1cd01db9-be24-4bef-8e7c-e923f0ff78ab'].status, 'succeeded');
      const status = await runCli(['status'], { ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex });
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /Incoming Execution via WinRM Remote Shell\s+\S+\s+succeeded\s+\S+\s+\d+\s+none\s+daemon-test\s+\d{4}-/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    } finally {
      // A failed assertion must not leave the daemon running (and holding the rule's lease).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.match(log, /SIGTERM received/);
    assert.match(log, /"message":"stopped"/);
  });

  test('a rule never runs twice at once: a tick during a slow execution is skipped', async () => {
    const rule = await shippedRule({ ruleId: `overlap-${env.prefix}`, intervalMs: 1000, indices: [`${env.prefix}-events-*`] });
    const now = Date.now();
    const data = generateDataset({ seed: 5, start: now - 5 * 60_000, end: now - 60_000, noiseEvents: 100, attacks: 2, hosts: 9, idPrefix: 'd', indices: {
      defendNetwork: `${env.prefix}-events-n`, defendProcess: `${env.prefix}-events-p`, winlogbeat: `${env.prefix}-events-w`,
    } });
    await indexEvents(env.client, data.events);
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const inner = env.deps.sink;
    // Slows every execution to ~2.5 s, longer than the 1 s interval.
    const slow: AlertSink = {
      async existing(ids) {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 2500));
        active--;
        return inner.existing(ids);
      },
      write: (alerts) => inner.write(alerts),
    };
    const { logger, lines } = captureLogger();
    const daemon = new Daemon({ ...env.deps, sink: slow, logger }, [rule], 3_600_000);
    daemon.start();
    await new Promise((r) => setTimeout(r, 4200));
    await daemon.stop();
    assert.equal(maxActive, 1);
    assert.ok(calls >= 1);
    assert.ok(lines().some((l) => l.message === 'previous execution still running; this tick is skipped'));
    const mine = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a.lookout.events[0].index.startsWith(env.prefix));
    assert.equal(mine.length, 2);
  });

  test('two runners share a cluster: each window is executed by one of them; when the holder stops, the other takes over', async () => {
    const rule = await shippedRule({ ruleId: `lease-${env.prefix}`, intervalMs: 1000, indices: [`${env.prefix}-nothing-*`] });
    const a = new Daemon({ ...env.deps, logger: captureLogger().logger }, [rule], 3_600_000, { owner: 'runner-a', leaseTtlMs: 2500 });
    const b = new Daemon({ ...env.deps, logger: captureLogger().logger }, [rule], 3_600_000, { owner: 'runner-b', leaseTtlMs: 2500 });
    a.start();
    await new Promise((r) => setTimeout(r, 300));
    b.start();
    await new Promise((r) => setTimeout(r, 3200));
    assert.deepEqual(a.leases, [rule.ruleId]);
    assert.deepEqual(b.leases, []);
    // The holder dies without giving the lease up (its timers stop, its lease is left to expire).
    (a as unknown as { stopped: boolean }).stopped = true;
    await new Promise((r) => setTimeout(r, 4500));
    assert.deepEqual(b.leases, [rule.ruleId], 'b took over after the lease expired');
    await a.stop();
    await b.stop();
    await env.client.indices.refresh({ index: env.stateIndex });
    const execs = await env.deps.store.executions(rule.ruleId, 100);
    // No two executions cover the same window end: one runner per window.
    const ends = execs.map((e) => String((e.window as { end: string }).end));
    assert.equal(new Set(ends).size, ends.length);
    assert.ok(execs.length >= 5, `executions: ${execs.length}`);
    const leases = await env.deps.store.leases();
    assert.equal(leases.has(rule.ruleId), false, 'a clean stop gives the lease up');
  });

  test('rules with the same interval over the same indices tick together and share a read', async () => {
    const now = Date.now();
    const indices = { defendNetwork: `${env.prefix}-events-gn`, defendProcess: `${env.prefix}-events-gp`, winlogbeat: `${env.prefix}-events-gw` };
    await indexEvents(env.client, generateDataset({ seed: 71, start: now - 5 * 60_000, end: now - 60_000, noiseEvents: 200, attacks: 3, hosts: 9, idPrefix: 'grp', indices }).events);
    const base = await shippedRule({ ruleId: `grp-a-${env.prefix}`, intervalMs: 60_000, indices: [`${env.prefix}-events-g*`] });
    const other = { ...base, ruleId: `grp-b-${env.prefix}`, name: 'same rule, second id' };
    const { logger, lines } = captureLogger();
    const daemon = new Daemon({ ...env.deps, logger }, [base, other], 3_600_000, { owner: 'grp' });
    daemon.start();
    const deadline = Date.now() + 20_000;
    while (lines().filter((l) => l.message === 'execution finished').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await daemon.stop();
    assert.equal(lines().filter((l) => l.message === 'scheduled every 60s' && l.shared_with === 1).length, 2);
    const finished = lines().filter((l) => l.message === 'execution finished');
    assert.deepEqual(finished.map((l) => l.rule_id).sort(), [base.ruleId, other.ruleId].sort());
    assert.equal(finished[0].events_read, finished[1].events_read, 'one read, the same events for both');
    const alerts = await alertsIn(env.client, env.alertsIndex);
    for (const id of [base.ruleId, other.ruleId]) assert.equal(alerts.filter((a) => a['kibana.alert.rule.rule_id'] === id).length, 3);
  });
});
