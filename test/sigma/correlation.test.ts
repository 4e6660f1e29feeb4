/** Correlations in memory: the v1 aggregation of the seed rule, and each v2 correlation type. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { alertsOf, sigmaRule, sigmaRules, wlb } from '../helpers/sigma.js';
import { REPO } from '../helpers/rules.js';

const MIN = 60_000;
const seedYaml = await readFile(`${REPO}rules/sigma/win_security_winrm_listening_service_reconnaissance.yml`, 'utf8');

function recon(ts: number, computer: string, user = 'alice', image = 'C:\\Windows\\System32\\wsmprovhost.exe') {
  return wlb(ts, { channel: 'Security', event_id: 4688, computer_name: computer, event_data: { NewProcessName: image, TargetUserName: user, TargetLogonId: '0x3e7' } });
}

describe('the seed rule: count(Computer) > 30 within 15m', () => {
  const rule = sigmaRule(seedYaml);

  test('31 distinct computers alert once, naming the count and the events', async () => {
    const events = Array.from({ length: 31 }, (_, i) => recon(i * 10_000, `WS${i}`));
    const alerts = await alertsOf(rule, events);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].lookout.correlation.type, 'value_count');
    assert.equal(alerts[0].lookout.correlation.value, 31);
    assert.equal(alerts[0].lookout.correlation.events, 31);
    assert.equal(alerts[0]['kibana.alert.ancestors'].length, 31);
    assert.match(alerts[0]['kibana.alert.reason'], /^value_count 31 within 15m \(31 events\) created medium alert/);
  });

  test('30 distinct computers do not alert', async () => {
    assert.equal((await alertsOf(rule, Array.from({ length: 30 }, (_, i) => recon(i * 10_000, `WS${i}`)))).length, 0);
  });

  test('machine accounts are excluded', async () => {
    const events = [...Array.from({ length: 30 }, (_, i) => recon(i * 10_000, `WS${i}`)), recon(310_000, 'WS99', 'WS99$')];
    assert.equal((await alertsOf(rule, events)).length, 0);
  });

  test('31 computers spread beyond 15 minutes do not alert', async () => {
    assert.equal((await alertsOf(rule, Array.from({ length: 31 }, (_, i) => recon(i * 40_000, `WS${i}`)))).length, 0);
  });

  test('a value counts while any of its events is in the window, case-insensitively', async () => {
    // WS0 at 0 and ws0 at 10 min; WS1..WS30 at 16 min: the first WS0 has left, ws0 keeps it counted.
    const late = Array.from({ length: 30 }, (_, i) => recon(16 * MIN + i * 1000, `WS${i + 1}`));
    const kept = await alertsOf(rule, [recon(0, 'WS0'), recon(10 * MIN, 'ws0'), ...late]);
    assert.equal(kept.length, 1);
    assert.equal(kept[0].lookout.correlation.value, 31);
    assert.equal(kept[0].lookout.correlation.events, 31);
    // Without the second, WS0 has left the window: 30 distinct.
    assert.equal((await alertsOf(rule, [recon(0, 'WS0'), ...late])).length, 0);
  });

  test('one computer many times does not alert', async () => {
    assert.equal((await alertsOf(rule, Array.from({ length: 100 }, (_, i) => recon(i * 1000, 'WS1')))).length, 0);
  });

  test('endswith is case-insensitive', async () => {
    const events = Array.from({ length: 31 }, (_, i) => recon(i * 10_000, `WS${i}`, 'bob', 'C:\\WINDOWS\\SYSTEM32\\WSMPROVHOST.EXE'));
    assert.equal((await alertsOf(rule, events)).length, 1);
  });

  test('a long burst alerts once (rising edge), a second burst later alerts again', async () => {
    const burst = (start: number, tag: string) => Array.from({ length: 60 }, (_, i) => recon(start + i * 5000, `${tag}${i}`));
    assert.equal((await alertsOf(rule, [...burst(0, 'A'), ...burst(60 * MIN, 'B')])).length, 2);
  });
});

const base = (name: string, detection: string) => `title: ${name}\nname: ${name}\nlogsource:\n  product: windows\n  service: security\ndetection:\n${detection}\n`;

describe('v2 correlation rules', () => {
  const failed = base('failed_logon', '  sel:\n    EventID: 4625\n  condition: sel');
  const success = base('successful_logon', '  sel:\n    EventID: 4624\n  condition: sel');
  const ev = (ts: number, id: number, user: string, ip = '10.0.0.1') =>
    wlb(ts, { channel: 'Security', event_id: id, computer_name: 'DC1', event_data: { TargetUserName: user, IpAddress: ip } });

  test('event_count by group', async () => {
    const { rules } = sigmaRules(`${failed}---\ntitle: many failures\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition:\n    gte: 5\nlevel: high\n`);
    assert.equal(rules.length, 1);
    const events = [...Array.from({ length: 5 }, (_, i) => ev(i * 1000, 4625, 'bob')), ...Array.from({ length: 4 }, (_, i) => ev(i * 1000, 4625, 'eve'))];
    const alerts = await alertsOf(rules[0], events);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].lookout.correlation.group, { TargetUserName: 'bob' });
    assert.equal(alerts[0]['kibana.alert.severity'], 'high');
    assert.equal(alerts[0]['kibana.alert.risk_score'], 73);
  });

  test('value_count: distinct users from one source', async () => {
    const { rules } = sigmaRules(`${failed}---\ntitle: spray\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  group-by: [IpAddress]\n  timespan: 10m\n  condition:\n    gt: 3\n    field: TargetUserName\n`);
    const spray = ['a', 'b', 'c', 'd'].map((u, i) => ev(i * 1000, 4625, u, '10.9.9.9'));
    const same = ['a', 'a', 'a', 'a', 'a'].map((u, i) => ev(i * 1000, 4625, u, '10.1.1.1'));
    const alerts = await alertsOf(rules[0], [...spray, ...same]);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].lookout.correlation.group, { IpAddress: '10.9.9.9' });
    assert.equal(alerts[0].lookout.correlation.value, 4);
  });

  test('temporal: both rules for the group within the timespan, in any order', async () => {
    const { rules } = sigmaRules(`${failed}---\n${success}---\ntitle: fail then succeed\ncorrelation:\n  type: temporal\n  rules: [failed_logon, successful_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n`);
    const events = [ev(0, 4624, 'bob'), ev(10_000, 4625, 'bob'), ev(0, 4625, 'eve'), ev(90_000, 4624, 'eve')];
    const alerts = await alertsOf(rules[0], events);
    assert.deepEqual(alerts.map((a) => a.lookout.correlation.group.TargetUserName), ['bob']);
  });

  test('temporal_ordered: only in the given order', async () => {
    const { rules } = sigmaRules(`${failed}---\n${success}---\ntitle: fail then succeed\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_logon, successful_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n`);
    const events = [ev(0, 4624, 'bob'), ev(10_000, 4625, 'bob'), ev(0, 4625, 'eve'), ev(20_000, 4624, 'eve')];
    const alerts = await alertsOf(rules[0], events);
    assert.deepEqual(alerts.map((a) => a.lookout.correlation.group.TargetUserName), ['eve']);
  });

  test('aliases: a group-by name standing for different fields per rule; generate: the base rules alert too', async () => {
    const proc = base('proc', '  sel:\n    EventID: 4688\n  condition: sel');
    const logon = base('logon', '  sel:\n    EventID: 4624\n  condition: sel');
    const yaml = `${proc}---\n${logon}---\ntitle: logon then process\ncorrelation:\n  type: temporal_ordered\n  rules: [logon, proc]\n  group-by: [user]\n  timespan: 1m\n  generate: true\n  aliases:\n    user:\n      logon: TargetUserName\n      proc: SubjectUserName\n`;
    const { rules, errors } = sigmaRules(yaml);
    assert.deepEqual(errors, []);
    const events = [
      wlb(0, { channel: 'Security', event_id: 4624, event_data: { TargetUserName: 'bob' } }),
      wlb(5000, { channel: 'Security', event_id: 4688, event_data: { SubjectUserName: 'bob' } }),
    ];
    const alerts = await alertsOf(rules[0], events);
    assert.equal(alerts.filter((a) => a.lookout.correlation).length, 1);
    assert.equal(alerts.filter((a) => !a.lookout.correlation).length, 2, 'generate: each base match alerts too');
  });

  test('v1 min/max/avg/sum aggregations', async () => {
    const rule = sigmaRule(base('big', '  sel:\n    EventID: 5145\n  condition: sel | sum(Size) by ShareName > 100\n  timeframe: 1m'));
    const e = (ts: number, size: number, share: string) => wlb(ts, { channel: 'Security', event_id: 5145, event_data: { Size: size, ShareName: share } });
    const alerts = await alertsOf(rule, [e(0, 60, 'A'), e(1000, 50, 'A'), e(0, 60, 'B'), e(70_000, 50, 'B')]);
    assert.deepEqual(alerts.map((a) => [a.lookout.correlation.group.ShareName, a.lookout.correlation.value]), [['A', 110]]);
  });

  test('a correlation naming a rule that is not in the file is refused with its position', () => {
    const { errors } = sigmaRules(`${failed}---\ntitle: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition:\n    gte: 2\n`);
    assert.match(errors[0], /^test\.yml:14:11: correlation\.rules\.0: rule 'nope' is not in this file/);
  });
});
