/**
 * Time: windows follow the cluster's clock even when the runner's jumps; event timestamps in
 * any ISO 8601 offset or as epoch milliseconds land in the right UTC window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseTimestamp } from '../../src/engine/events.js';
import { ClusterClock } from '../../src/scheduler/clock.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, captureLogger, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';

describe('time', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('a runner clock two hours ahead: windows use the cluster clock, and the skew is logged', async () => {
    const { logger, lines } = captureLogger();
    const jumped = () => Date.now() + 2 * 3_600_000;
    const clock = new ClusterClock(env.client, logger, jumped);
    const now = await clock.now();
    assert.ok(Math.abs(now - Date.now()) < 10_000, `cluster time ${new Date(now).toISOString()}`);
    assert.ok(lines().some((l) => String(l.message).includes("off the cluster's")));
    const steady = new ClusterClock(env.client, logger);
    assert.ok(Math.abs((await steady.now()) - Date.now()) < 10_000);
  });

  test('timestamps with offsets and epoch milliseconds land in the same UTC window', async () => {
    const rule = await shippedRule({ indices: [`${env.prefix}-events-t`] });
    const t = Date.UTC(2026, 10, 25, 10, 0, 0);
    const host = { id: 'tz', os: { type: 'windows' } };
    await env.client.bulk({ refresh: true, operations: [
      { index: { _index: rule.indices[0], _id: 'net' } },
      { '@timestamp': '2026-11-25T15:30:00+05:30', event: { category: ['network'] }, host, process: { pid: 4 }, network: { direction: 'incoming' }, destination: { port: 5985 }, source: { ip: '10.3.3.3' } },
      { index: { _index: rule.indices[0], _id: 'proc' } },
      { '@timestamp': t + 5000, event: { category: ['process'], type: ['start'] }, host, process: { name: 'whoami.exe', executable: 'C:\\Windows\\System32\\whoami.exe', parent: { name: 'winrshost.exe' } } },
    ] });
    const { record } = await executeRule(env.deps, rule, { start: t - 1000, end: t + 10_000 }, 'once');
    assert.equal(record.eventsRead, 2);
    const [alert] = await alertsIn(env.client, env.alertsIndex);
    assert.equal(alert['kibana.alert.original_time'], '2026-11-25T10:00:00.000Z');
  });

  test('timestamp forms', () => {
    const t = Date.UTC(2026, 10, 25, 10, 0, 0);
    for (const v of ['2026-11-25T10:00:00Z', '2026-11-25T10:00:00.000Z', '2026-11-25T15:30:00+05:30', '2026-11-25T05:00:00-05:00', t, String(t), [t]]) {
      assert.equal(parseTimestamp(v), t, JSON.stringify(v));
    }
    for (const v of ['yesterday', '', null, {}, [], Number.NaN]) assert.equal(parseTimestamp(v), undefined, JSON.stringify(v));
  });
});
