/**
 * The seed Sigma rule (WinRM listening service reconnaissance) against the real server: the
 * threshold (31 computers alert, 30 do not), machine accounts, the 15-minute window, one
 * computer many times, case-insensitive endswith; overlapping scheduled executions find a burst
 * once; the alert is enriched with the 4624 logon source; Elastic Defend (ECS) data runs too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule, planRead } from '../../src/scheduler/execute.js';
import { scheduledWindow } from '../../src/scheduler/window.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { REPO } from '../helpers/rules.js';

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('the WinRM reconnaissance Sigma rule on the real server', () => {
  let env: TestEnv;
  let rule: Rule;
  let index: string;
  let n = 0;
  before(async () => {
    env = await testEnv();
    index = `winlogbeat-${env.prefix}`;
    const set = await loadRules([`${REPO}rules/sigma/win_security_winrm_listening_service_reconnaissance.yml`]);
    assert.equal(set.rules.length, 1, set.errors.map((e) => e.message).join('; '));
    rule = { ...set.rules[0], indices: [index, `logs-endpoint.events.process-${env.prefix}`] };
  });
  after(async () => {
    await env?.client.indices.delete({ index: `winlogbeat-${env.prefix},logs-endpoint.events.process-${env.prefix}`, ignore_unavailable: true });
    await env?.close();
  });

  const e4688 = (ts: number, computer: string, user = 'alice', image = 'C:\\Windows\\System32\\wsmprovhost.exe', logonId = '0x1a2b') => ({
    _index: index, _id: `e${n++}`,
    doc: { '@timestamp': iso(ts), event: { code: '4688' }, winlog: { channel: 'Security', event_id: 4688, computer_name: computer, event_data: { NewProcessName: image, TargetUserName: user, TargetLogonId: logonId } } },
  });
  const e4624 = (ts: number, computer: string, logonId: string, ip: string) => ({
    _index: index, _id: `l${n++}`,
    doc: { '@timestamp': iso(ts), winlog: { channel: 'Security', event_id: 4624, computer_name: computer, event_data: { TargetLogonId: logonId, IpAddress: ip, WorkstationName: 'ATTACKER-PC', TargetUserName: 'alice', TargetDomainName: 'CORP', LogonType: 3 } } },
  });

  async function load(docs: { _index: string; _id: string; doc: Record<string, unknown> }[]): Promise<void> {
    await env.client.bulk({ refresh: true, operations: docs.flatMap((d) => [{ index: { _index: d._index, _id: d._id } }, d.doc]) });
  }

  /** One scheduled execution whose window ends at `end`; returns the alerts it wrote. */
  async function runAt(end: number): Promise<number> {
    const { record } = await executeRule(env.deps, rule, { start: end - rule.lookbackMs, end }, 'scheduled');
    assert.equal(record.status, 'succeeded', record.error);
    return record.alertsWritten;
  }

  // Each case lives in its own hour so the global count never mixes cases.
  const hour = (h: number) => Date.parse('2026-11-12T00:00:00Z') + h * 3_600_000;

  test('31 distinct computers within 15 minutes alert; the alert is enriched with the logon source', async () => {
    const t = hour(0);
    await load([
      e4624(t - 5000, 'DC1', '0x1a2b', '10.66.6.6'),
      ...Array.from({ length: 31 }, (_, i) => e4688(t + i * 10_000, `WS${i}`)),
    ]);
    // Executions every 5 minutes over the burst: it is found once.
    const written = [];
    for (let k = 0; k <= 4; k++) written.push(await runAt(t + k * 5 * MIN));
    assert.equal(written.reduce((a, b) => a + b, 0), 1, `alerts per execution: ${written}`);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.original_time'] >= iso(t) && a['kibana.alert.original_time'] < iso(t + 3_600_000));
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.lookout.correlation.value, 31);
    assert.equal(a['kibana.alert.rule.category'], 'Sigma Correlation Rule');
    assert.equal(a['kibana.alert.severity'], 'medium');
    assert.deepEqual(a.lookout.enrichment.windows_logon_source.sources, ['10.66.6.6']);
    assert.equal(a.lookout.enrichment.windows_logon_source.logons[0].workstation, 'ATTACKER-PC');
    assert.equal(a.lookout.summary.source_ip, '10.66.6.6');
  });

  for (const [name, make, h] of [
    ['30 distinct computers do not alert', (t: number) => Array.from({ length: 30 }, (_, i) => e4688(t + i * 10_000, `WS${i}`)), 2],
    ['machine accounts are excluded', (t: number) => [...Array.from({ length: 30 }, (_, i) => e4688(t + i * 10_000, `WS${i}`)), e4688(t + 301_000, 'SRV9', 'SRV9$')], 4],
    ['events spread beyond 15 minutes do not alert', (t: number) => Array.from({ length: 31 }, (_, i) => e4688(t + i * 40_000, `WS${i}`)), 6],
    ['one computer many times does not alert', (t: number) => Array.from({ length: 80 }, (_, i) => e4688(t + i * 5000, 'WS1')), 8],
  ] as const) {
    test(name, async () => {
      const t = hour(h);
      await load(make(t));
      let total = 0;
      for (let k = 0; k <= 6; k++) total += await runAt(t + k * 5 * MIN);
      assert.equal(total, 0);
    });
  }

  test('endswith is case-insensitive; Elastic Defend (ECS) events count too', async () => {
    const t = hour(10);
    const ecs = Array.from({ length: 11 }, (_, i) => ({
      _index: `logs-endpoint.events.process-${env.prefix}`, _id: `x${n++}`,
      doc: { '@timestamp': iso(t + i * 10_000), event: { category: ['process'], type: ['start'] }, host: { name: `ECS${i}` }, user: { name: 'bob' }, process: { executable: 'C:\\Windows\\System32\\WsmProvHost.EXE' } },
    }));
    await load([...Array.from({ length: 20 }, (_, i) => e4688(t + i * 10_000, `UP${i}`, 'bob', 'C:\\WINDOWS\\SYSTEM32\\WSMPROVHOST.EXE')), ...ecs]);
    let total = 0;
    for (let k = 0; k <= 4; k++) total += await runAt(t + k * 5 * MIN);
    assert.equal(total, 1);
  });

  test('the pushed-down query selects the rule\'s events and leaves unrelated ones on the server', async () => {
    const t = hour(12);
    const hit = e4688(t, 'A');
    await load([hit, { _index: index, _id: 'other', doc: { '@timestamp': iso(t), winlog: { channel: 'Security', event_id: 4624, computer_name: 'A', event_data: {} } } }]);
    const { query } = await planRead(env.client, rule);
    assert.ok(query);
    const res = await env.client.search({ index, size: 100, query: { bool: { filter: [query as never, { range: { '@timestamp': { gte: t, lte: t, format: 'epoch_millis' } } }] } } });
    assert.deepEqual(res.hits.hits.map((h) => h._id), [hit._id]);
    assert.ok(scheduledWindow(rule, t, undefined, 0).start < t);
  });
});
