/**
 * The shipped WinRM rule against the real server: every clause with a match and a near-miss,
 * the maxspan bound, order, the join key, case-insensitive matching, the conhost exclusion,
 * loopback v4 and v6, malformed events, and both ways of paging (point in time and scroll).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import type { GeneratedEvent } from '../../src/demo/generate.js';
import { joinKeysOf } from '../../src/engine/sequence.js';
import { executeRule, planRead } from '../../src/scheduler/execute.js';
import type { Rule } from '../../src/rules/model.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';
import { asEql } from '../../src/eql/compile.js';

const T0 = Date.parse('2026-11-20T08:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

type Doc = Record<string, any>;
function net(host: string, at: number, patch: (d: Doc) => void = () => undefined): Doc {
  const d: Doc = {
    '@timestamp': iso(at), event: { category: ['network'], type: ['start'] }, host: { id: host, name: host, os: { type: 'windows' } },
    process: { pid: 4, name: 'System' }, network: { direction: 'incoming' }, destination: { port: 5985 }, source: { ip: '10.1.1.1' },
  };
  patch(d);
  return d;
}
function proc(host: string, at: number, patch: (d: Doc) => void = () => undefined): Doc {
  const d: Doc = {
    '@timestamp': iso(at), event: { category: ['process'], type: ['start'] }, host: { id: host, name: host, os: { type: 'windows' } },
    user: { name: 'eve' }, process: { name: 'whoami.exe', executable: 'C:\\Windows\\System32\\whoami.exe', command_line: 'whoami', parent: { name: 'winrshost.exe' } },
  };
  patch(d);
  return d;
}

/** [case, events (network first unless the case says otherwise), alert expected] */
const cases: [string, (host: string, t: number) => Doc[], boolean][] = [
  ['baseline: incoming on 5985, child of winrshost', (h, t) => [net(h, t), proc(h, t + 2000)], true],
  ['direction ingress, port 5986', (h, t) => [net(h, t, (d) => { d.network.direction = 'ingress'; d.destination.port = 5986; }), proc(h, t + 2000)], true],
  ['direction INCOMING in capitals (: is case-insensitive)', (h, t) => [net(h, t, (d) => { d.network.direction = 'INCOMING'; }), proc(h, t + 2000)], true],
  ['near-miss: outbound connection', (h, t) => [net(h, t, (d) => { d.network.direction = 'outgoing'; }), proc(h, t + 2000)], false],
  ['near-miss: port 443', (h, t) => [net(h, t, (d) => { d.destination.port = 443; }), proc(h, t + 2000)], false],
  ['near-miss: connection not owned by pid 4', (h, t) => [net(h, t, (d) => { d.process.pid = 1234; }), proc(h, t + 2000)], false],
  ['near-miss: network event from a Linux host', (h, t) => [net(h, t, (d) => { d.host.os.type = 'linux'; }), proc(h, t + 2000)], false],
  ['near-miss: process event from a Linux host', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.host.os.type = 'linux'; })], false],
  ['near-miss: loopback source 127.0.0.1', (h, t) => [net(h, t, (d) => { d.source.ip = '127.0.0.1'; }), proc(h, t + 2000)], false],
  ['near-miss: loopback source ::1', (h, t) => [net(h, t, (d) => { d.source.ip = '::1'; }), proc(h, t + 2000)], false],
  ['IPv6 source that is not loopback', (h, t) => [net(h, t, (d) => { d.source.ip = 'fe80::1'; }), proc(h, t + 2000)], true],
  ['near-miss: process end, not start', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.event.type = ['end']; })], false],
  ['parent WinRSHost.EXE (case-insensitive)', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.process.parent.name = 'WinRSHost.EXE'; })], true],
  ['near-miss: parent wsmprovhost.exe (PowerShell remoting)', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.process.parent.name = 'wsmprovhost.exe'; })], false],
  ['near-miss: conhost.exe in System32 on C:', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.process.name = 'conhost.exe'; d.process.executable = 'C:\\Windows\\System32\\conhost.exe'; })], false],
  ['near-miss: CONHOST.EXE in System32 on D: (? matches the drive)', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.process.executable = 'D:\\WINDOWS\\System32\\CONHOST.EXE'; })], false],
  ['conhost.exe outside System32 is not excluded', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { d.process.executable = 'C:\\Users\\Public\\conhost.exe'; })], true],
  ['child exactly 30 s after the connection (maxspan is inclusive)', (h, t) => [net(h, t), proc(h, t + 30_000)], true],
  ['near-miss: child 31 s after the connection', (h, t) => [net(h, t), proc(h, t + 31_000)], false],
  ['near-miss: child before the connection', (h, t) => [proc(h, t), net(h, t + 2000)], false],
  ['malformed: no process.executable (the exclusion cannot apply)', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { delete d.process.executable; })], true],
  ['malformed: pid as a string "4", event.type as a string', (h, t) => [net(h, t, (d) => { d.process.pid = '4'; }), proc(h, t + 2000, (d) => { d.event.type = 'start'; })], true],
  ['malformed: no source.ip (not a loopback)', (h, t) => [net(h, t, (d) => { delete d.source; }), proc(h, t + 2000)], true],
  ['malformed: process event without host.id cannot join', (h, t) => [net(h, t), proc(h, t + 2000, (d) => { delete d.host.id; })], false],
  ['malformed: no event.category at all', (h, t) => [net(h, t, (d) => { delete d.event.category; }), proc(h, t + 2000)], false],
];

describe('the WinRM rule, clause by clause, on the real server', () => {
  let env: TestEnv;
  let rule: Rule;
  const hostOf = (i: number) => `case-${String(i).padStart(2, '0')}`;
  const start = T0;
  const end = T0 + cases.length * 120_000 + 60_000;

  before(async () => {
    env = await testEnv();
    rule = await shippedRule({ indices: [`${env.prefix}-events-*`] });
    const events: GeneratedEvent[] = [];
    cases.forEach(([, make], i) => {
      make(hostOf(i), T0 + i * 120_000).forEach((source, j) => {
        const index = `${env.prefix}-events-${source.event?.category?.[0] ?? 'other'}`;
        events.push({ index, id: `${hostOf(i)}-${j}`, source });
      });
    });
    // The key-mismatch case: the connection on one host, the child on another.
    events.push({ index: `${env.prefix}-events-network`, id: 'split-0', source: net('split-a', T0 + 1000) });
    events.push({ index: `${env.prefix}-events-process`, id: 'split-1', source: proc('split-b', T0 + 2000) });
    await indexEvents(env.client, events);
  });
  after(async () => env?.close());

  for (const mode of ['pit', 'scroll'] as const) {
    test(`each clause: alert or no alert, as expected (paging by ${mode}, 7 hits a page)`, async () => {
      const deps = { ...env.deps, readMode: mode, pageSize: 7 };
      const { record, read } = await executeRule(deps, rule, { start, end }, 'once');
      assert.equal(record.status, 'succeeded', `${record.error}`);
      assert.equal(read?.mode, mode);
      assert.ok((read?.pages ?? 0) > 2, 'several pages were read');
      const alerts = await alertsIn(env.client, env.alertsIndex);
      const alerted = new Set(alerts.map((a) => a.host.id));
      for (const [i, [name, , expected]] of cases.entries()) {
        assert.equal(alerted.has(hostOf(i)), expected, `${name}: expected ${expected ? 'an alert' : 'no alert'}`);
      }
      assert.equal(alerted.has('split-a') || alerted.has('split-b'), false, 'different host ids do not join');
      assert.equal(alerts.length, cases.filter((c) => c[2]).length);
      if (mode === 'pit') assert.equal(record.alertsWritten, alerts.length);
      else assert.equal(record.duplicatesSkipped, alerts.length, 'the second read finds the same alerts: all duplicates');
    });
  }

  test('pushdown selects a superset of what the rule evaluates as a stage match', async () => {
    const { query } = await planRead(env.client, rule);
    assert.ok(query, 'the rule is pushed down');
    const all = await env.client.search<Doc>({ index: `${env.prefix}-events-*`, size: 1000 });
    const pushed = await env.client.search<Doc>({ index: `${env.prefix}-events-*`, size: 1000, query: query as never });
    const pushedIds = new Set(pushed.hits.hits.map((h) => h._id));
    const compiled = asEql(rule.compiled);
    if (compiled?.kind !== 'sequence') throw new Error('expected a sequence');
    const stages = compiled.stages;
    let accepted = 0;
    for (const h of all.hits.hits) {
      // What the engine uses: a stage accepts the event and the event has a join key.
      if (stages.some((s) => s.matches(h._source) && joinKeysOf(s, h._source).length > 0)) {
        accepted++;
        assert.ok(pushedIds.has(h._id), `pushdown dropped ${h._id}, which a stage accepts`);
      }
    }
    assert.ok(accepted > 20);
    assert.ok(pushed.hits.hits.length < all.hits.hits.length, 'pushdown filters something out');
  });

  test('severity mapping: a sensitive child makes a high alert with risk 73', async () => {
    const env2 = await testEnv();
    try {
      const r = await shippedRule({ indices: [`${env2.prefix}-events-*`] });
      const events: GeneratedEvent[] = [];
      ['cmd.exe', 'powershell.exe', 'pwsh.exe', 'mimikatz.exe', 'whoami.exe'].forEach((name, i) => {
        const h = `sev-${i}`;
        events.push({ index: `${env2.prefix}-events-network`, id: `${h}-n`, source: net(h, T0 + i * 60_000) });
        events.push({ index: `${env2.prefix}-events-process`, id: `${h}-p`, source: proc(h, T0 + i * 60_000 + 1000, (d) => { d.process.name = name; }) });
      });
      await indexEvents(env2.client, events);
      await executeRule(env2.deps, r, { start: T0 - 1000, end: T0 + 600_000 }, 'once');
      const alerts = await alertsIn(env2.client, env2.alertsIndex);
      const sev = Object.fromEntries(alerts.map((a) => [a.process.name, [a['kibana.alert.severity'], a['kibana.alert.risk_score']]]));
      assert.deepEqual(sev, {
        'cmd.exe': ['high', 73], 'powershell.exe': ['high', 73], 'pwsh.exe': ['high', 73], 'mimikatz.exe': ['high', 73], 'whoami.exe': ['medium', 47],
      });
    } finally {
      await env2.close();
    }
  });
});
