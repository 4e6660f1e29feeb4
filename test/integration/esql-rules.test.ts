/**
 * ES|QL rules end to end on the real server (7.17, which has no ES|QL): loaded from TOML and from
 * a Kibana NDJSON export, the FROM indices read over the rule window with the leading WHERE
 * pushed down, the query run in memory, an alert per result row; two overlapping executions
 * write no alert twice, for a query tied to its source documents (METADATA _id) and for an
 * aggregating one (STATS).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import { loadElasticToml } from '../../src/rules/elastic-toml.js';
import { loadKibanaNdjson } from '../../src/rules/kibana-ndjson.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';

const MIN = 60_000;

function toml(name: string, query: string): string {
  return `[metadata]
creation_date = "2026/11/26"

[rule]
rule_id = "esql-${name}"
name = "ES|QL ${name}"
description = "test"
type = "esql"
language = "esql"
query = '''
${query}
'''
from = "now-10m"
interval = "5m"
risk_score = 47
severity = "medium"
`;
}

function load(text: string): Rule {
  const out = loadElasticToml('test.toml', text);
  if (!('rule' in out)) throw new Error(`skipped: ${out.skipped.reason}`);
  return out.rule;
}

describe('ES|QL rules on the real server', () => {
  let env: TestEnv;
  const now = Date.parse('2026-11-26T12:00:00Z');
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('a non-aggregating rule with METADATA _id: an alert per matching event, tied to it; an overlapping execution adds none', async () => {
    const index = `${env.prefix}-events-proc`;
    const ev = (id: string, name: string, cmd: string, t: number) => ({
      index, id, source: { '@timestamp': new Date(t).toISOString(), event: { category: 'process' }, host: { name: 'h1' }, process: { name, command_line: cmd } },
    });
    await indexEvents(env.client, [
      ev('a', 'cmd.exe', 'CMD /C WHOAMI', now - 8 * MIN), ev('b', 'cmd.exe', 'cmd /c dir', now - 6 * MIN),
      ev('c', 'notepad.exe', 'notepad', now - 5 * MIN), ev('d', 'cmd.exe', 'cmd /c ver', now - 2 * MIN),
    ]);
    const rule = load(toml('proc', `FROM ${index} METADATA _id, _index
| WHERE event.category == "process" AND process.name == "cmd.exe"
| EVAL cmd = TO_LOWER(process.command_line)
| KEEP _id, _index, @timestamp, host.name, process.name, cmd`));
    assert.deepEqual(rule.indices, [index]);
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now - 4 * MIN }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    // The leading WHERE is pushed down: notepad.exe is not read.
    assert.equal(r1.record.eventsRead, 2);
    assert.equal(r1.record.alertsWritten, 2);
    const r2 = await executeRule(env.deps, rule, { start: now - 7 * MIN, end: now }, 'scheduled');
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.matches, 2);
    assert.equal(r2.record.alertsWritten, 1, 'only d is new');
    assert.equal(r2.record.duplicatesSkipped, 1, 'b was alerted by the first execution');
    const alerts = await alertsIn(env.client, env.alertsIndex);
    const mine = alerts.filter((a) => a['kibana.alert.rule.rule_id'] === 'esql-proc');
    assert.deepEqual(mine.map((a) => a['kibana.alert.ancestors'][0].id), ['a', 'b', 'd']);
    assert.deepEqual(mine.map((a) => a.cmd), ['cmd /c whoami', 'cmd /c dir', 'cmd /c ver']);
    assert.equal(mine[0].process.name, 'cmd.exe', 'the source event is in the alert');
    assert.equal(mine[0]['kibana.alert.rule.type'], 'esql');
    assert.equal(mine[0]['kibana.alert.rule.rule_type_id'], 'siem.esqlRule');
    assert.equal(mine[0]['kibana.alert.rule.language'], 'esql');
  });

  test('an aggregating rule: an alert per row with its columns; the same row in an overlapping execution is not alerted again', async () => {
    const index = `${env.prefix}-events-auth`;
    const ev = (id: string, user: string, host: string, t: number) => ({
      index, id, source: { '@timestamp': new Date(t).toISOString(), event: { category: 'authentication', outcome: 'failure' }, user: { name: user }, host: { name: host } },
    });
    await indexEvents(env.client, [
      ev('1', 'alice', 'h1', now - 9 * MIN), ev('2', 'alice', 'h2', now - 8 * MIN), ev('3', 'alice', 'h1', now - 7 * MIN),
      ev('4', 'bob', 'h1', now - 7 * MIN), ev('5', 'bob', 'h1', now - 3 * MIN), ev('6', 'bob', 'h3', now - 1 * MIN),
    ]);
    const rule = load(toml('auth', `FROM ${index}
| WHERE event.category == "authentication" AND event.outcome == "failure"
| STATS failures = COUNT(*), hosts = VALUES(host.name) BY user.name
| WHERE failures >= 3`));
    assert.equal(rule.compiled.kind, 'aggregating');
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.alertsWritten, 2);
    assert.equal(r1.record.groups, 2, 'the STATS groups held are reported');
    // Overlapping, over the same events: the same rows, no new alert.
    const r2 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.matches, 2);
    assert.equal(r2.record.alertsWritten, 0);
    assert.equal(r2.record.duplicatesSkipped, 2);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'esql-auth');
    const rows = alerts.map((a) => ({ user: a['user.name'], failures: a.failures, hosts: a.hosts })).sort((x, y) => x.user.localeCompare(y.user));
    assert.deepEqual(rows, [{ user: 'alice', failures: 3, hosts: ['h1', 'h2'] }, { user: 'bob', failures: 3, hosts: ['h1', 'h3'] }]);
    assert.equal(alerts[0]['kibana.alert.rule.category'], 'ES|QL Rule');
  });

  test('a SORT query keeping _id: rows come at the end, tied to their documents, metadata columns not written as fields', async () => {
    const index = `${env.prefix}-events-sorted`;
    const ev = (id: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), event: { category: 'process' }, process: { name: 'sh' } } });
    await indexEvents(env.client, [ev('s1', now - 5 * MIN), ev('s2', now - 4 * MIN)]);
    const rule = load(toml('sorted', `FROM ${index} METADATA _id, _index
| WHERE process.name == "sh"
| SORT @timestamp DESC
| KEEP _id, _index, process.name`));
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.alertsWritten, 2);
    const r2 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r2.record.alertsWritten, 0);
    assert.equal(r2.record.duplicatesSkipped, 2);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'esql-sorted');
    assert.deepEqual(alerts.map((a) => a.lookout.entity._id).sort(), ['s1', 's2']);
    assert.equal(alerts[0]['process.name'], 'sh');
  });

  test('NOW() is the end of the window read, so a past window (a backfill) evaluates as of its end', async () => {
    const index = `${env.prefix}-events-now`;
    const ev = (id: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), process: { name: 'x' } } });
    // The window ends at \`now\` (noon of the test day), hours before the wall clock.
    await indexEvents(env.client, [ev('recent', now - 2 * MIN), ev('older', now - 8 * MIN)]);
    const rule = load(toml('now', `FROM ${index} METADATA _id, _index
| EVAL age = DATE_DIFF("minute", @timestamp, NOW())
| WHERE age < 5`));
    const r = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'backfill');
    assert.equal(r.record.status, 'succeeded', r.record.error);
    assert.equal(r.record.matches, 1);
    const [alert] = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'esql-now');
    assert.equal(alert['kibana.alert.ancestors'][0].id, 'recent');
    assert.equal(alert.age, 2);
  });

  test('a rule from a Kibana NDJSON export (no index field) runs on its FROM indices', async () => {
    const index = `${env.prefix}-events-ndjson`;
    const text = (await readFile(new URL('../fixtures/esql/kibana-export.ndjson', import.meta.url), 'utf8')).replaceAll('logs-esql-*', `${index}*`);
    const [first] = loadKibanaNdjson('export.ndjson', text);
    assert.ok('rule' in first, JSON.stringify(first));
    const rule = first.rule;
    assert.deepEqual(rule.indices, [`${index}*`]);
    const events = Array.from({ length: 6 }, (_, i) => ({
      index, id: `n${i}`,
      source: { '@timestamp': new Date(now - (i + 1) * 30_000).toISOString(), event: { category: 'authentication', outcome: i === 5 ? 'success' : 'failure' }, user: { name: 'carol' }, host: { name: `h${i % 2}` } },
    }));
    await indexEvents(env.client, events);
    const r = await executeRule(env.deps, rule, { start: now - 6 * MIN, end: now }, 'scheduled');
    assert.equal(r.record.status, 'succeeded', r.record.error);
    assert.equal(r.record.alertsWritten, 1);
    const [alert] = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'esql-failed-logons-by-user');
    assert.equal(alert.failures, 5);
    assert.deepEqual(alert.hosts, ['h0', 'h1']);
  });
});
