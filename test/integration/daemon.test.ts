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

describe('the daemon', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('lookout run executes the rule at start, and SIGTERM stops it cleanly', async () => {
    const rulesDir = await mkdtemp(join(tmpdir(), 'lookout-daemon-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
    const child = spawn(process.execPath, [join(REPO, 'bin/lookout.js'), 'run'], {
      env: { ...process.env, ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex, LOOKOUT_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (c) => (log += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!log.includes('"message":"execution finished"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(log, /"message":"scheduled every 300s"/);
    assert.match(log, /"cron":"0 \*\/5 \* \* \* \*"/);
    assert.match(log, /"message":"execution finished"/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.match(log, /SIGTERM received/);
    assert.match(log, /"message":"stopped"/);
  });

  test('a rule never runs twice at once: a tick during a slow execution is skipped', async () => {
    const rule = await shippedRule({ intervalMs: 1000, indices: [`${env.prefix}-events-*`] });
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
});
