/**
 * Backfill's default step, chosen from a count of the events the rule's query selects: a sparse
 * rule (the shipped Sigma count rule) runs in one window instead of one per hour, and gives the
 * same alerts as hour windows, with a group just at the threshold (no alert) and a sweep across
 * an hour boundary (one alert).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { readMapping } from '../../src/config/mappings.js';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { backfillRule } from '../../src/scheduler/backfill.js';
import { countMatching } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { REPO } from '../helpers/rules.js';

const FROM = Date.UTC(2026, 9, 1);
const TO = FROM + 6 * 3_600_000;
const WSM = 'C:\\Windows\\System32\\wsmprovhost.exe';

function doc(ts: number, computer: string, image: string, user = 'alice') {
  return {
    '@timestamp': new Date(ts).toISOString(), event: { code: '4688', kind: 'event' },
    winlog: { channel: 'Security', event_id: 4688, computer_name: computer, event_data: { NewProcessName: image, TargetUserName: user, TargetLogonId: '0x1' } },
  };
}

describe('backfill step from a count', () => {
  let env: TestEnv;
  let rule: Rule;
  let index: string;
  before(async () => {
    env = await testEnv({ pageSize: 200 });
    index = `winlogbeat-${env.prefix}-sigma`;
    await env.client.indices.create({ index, mappings: (readMapping('ecs-events-template.json').template as { mappings: unknown }).mappings as never });
    const docs: ReturnType<typeof doc>[] = [];
    // Noise: other processes on 50 computers; wsmprovhost.exe now and then on one of the computers
    // of the group at the threshold (so that group stays at 30), sometimes by a machine account.
    for (let i = 0; i < 3000; i++) {
      const wsm = i % 40 === 0;
      docs.push(doc(FROM + i * 7000, wsm ? 'at-0.corp' : `ws${i % 50}.corp`, wsm ? WSM : 'C:\\Windows\\explorer.exe', i % 80 === 0 ? 'HOST$' : 'alice'));
    }
    // 40 computers by a machine account: filtered out, no alert.
    for (let c = 0; c < 40; c++) docs.push(doc(FROM + 30 * 60_000 + c * 1000, `m-${c}.corp`, WSM, 'SRV$'));
    // Exactly 30 distinct computers in 5 minutes: count > 30 is not met.
    for (let c = 0; c < 30; c++) docs.push(doc(FROM + 3_600_000 + 10 * 60_000 + c * 10_000, `at-${c}.corp`, WSM, 'eve'));
    // 31 computers from 01:58 to 02:03: across the hour boundary of hour windows.
    for (let c = 0; c < 31; c++) docs.push(doc(FROM + 2 * 3_600_000 - 2 * 60_000 + c * 10_000, `cross-${c}.corp`, WSM, 'eve'));
    // 35 computers in 5 minutes, later on.
    for (let c = 0; c < 35; c++) docs.push(doc(FROM + 4 * 3_600_000 + 20 * 60_000 + c * 8000, `late-${c}.corp`, WSM, 'eve'));
    for (let i = 0; i < docs.length; i += 2000) {
      const res = await env.client.bulk({ refresh: true, operations: docs.slice(i, i + 2000).flatMap((d) => [{ index: { _index: index } }, d]) });
      assert.equal(res.errors, false);
    }
    const set = await loadRules([`${REPO}rules/sigma/win_security_winrm_listening_service_reconnaissance.yml`]);
    rule = { ...set.rules[0], indices: [index] };
  });
  after(async () => {
    // Its name is the Sigma pipeline's (winlogbeat-*), outside the env's prefix: deleted here.
    await env?.client.indices.delete({ index, ignore_unavailable: true });
    await env?.close();
  });

  test('the count is of the events the pushed-down query selects, not of the range', async () => {
    const count = await countMatching(env.client, [rule], FROM, TO);
    // wsmprovhost.exe by users not ending in $: 75 of the noise less the 38 by HOST$, and 96 planted.
    assert.equal(count, 75 - 38 + 30 + 31 + 35);
  });

  test('one counted window gives the alerts of hour windows: the sweep across the boundary, the later one, not the group at the threshold', async () => {
    const hourly = `${env.prefix}-alerts-hourly`;
    const fixed = await backfillRule({ ...env.deps, sink: new ElasticAlertSink(env.client, hourly) }, rule, { from: FROM, to: TO, stepMs: 3_600_000 });
    assert.equal(fixed.failed, false, fixed.error);
    assert.equal(fixed.windows, 6);
    const counted = await backfillRule(env.deps, rule, { from: FROM, to: TO + 1 });
    assert.equal(counted.failed, false, counted.error);
    assert.equal(counted.windows, 1, 'a sparse rule runs in one window');
    const ids = async (i: string) => (await alertsIn(env.client, i)).map((a) => a._id).sort();
    const times = async (i: string) => (await alertsIn(env.client, i)).map((a) => String(a['kibana.alert.original_time'] ?? a['@timestamp'])).sort();
    assert.deepEqual(await ids(env.alertsIndex), await ids(hourly));
    const at = await times(env.alertsIndex);
    assert.equal(at.length, 2, `alerts at ${at.join(', ')}`);
    assert.deepEqual(at, await times(hourly));
  });
});
