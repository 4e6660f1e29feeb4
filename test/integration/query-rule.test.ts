/**
 * Kibana `query` rules (KQL) end to end on the real server: a rule from TOML and the same rule
 * from a Kibana NDJSON export with its exception list, executed twice over overlapping windows
 * (one alert per event), with filters, exceptions, building_block_type, severity and risk score
 * mappings, rule_name_override and timestamp_override; a query over keyword, numeric, ip, date,
 * wildcard values and a nested field; and a rule of the corpus, read where it lies.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryAlertSink } from '../../src/alerts/writer.js';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { runCli } from '../helpers/cli.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';

const MIN = 60_000;
const NOW = Date.parse('2026-11-26T12:00:00Z');
const CORPUS = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;

const QUERY = 'process.name:(whoami.exe or "net.exe") and process.pid >= 100 and source.ip:10.0.0.0/8 and process.command_line:*user* and event.created < now';

function toml(index: string, extra = ''): string {
  return `[metadata]
creation_date = "2026/11/26"

[rule]
author = ["Lookout"]
description = "Discovery commands."
from = "now-10m"
interval = "5m"
index = ["${index}"]
language = "kuery"
name = "Discovery command"
risk_score = 21
rule_id = "7e1c0000-0000-4000-8000-00000000a001"
severity = "low"
type = "query"
building_block_type = "default"
rule_name_override = "rule.name"
timestamp_override = "event.ingested"
${extra}
query = '''
${QUERY}
'''

[[rule.severity_mapping]]
field = "event.severity_label"
operator = "equals"
value = "bad"
severity = "high"

[[rule.risk_score_mapping]]
field = "event.risk"

[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.match_phrase]
"host.name" = "build-server"
`;
}

/** The same rule as a Kibana export line, with a detection list and its item after it. */
function ndjson(index: string): string {
  const rule = {
    rule_id: '7e1c0000-0000-4000-8000-00000000a002', name: 'Discovery command (export)', description: 'Discovery commands.', risk_score: 21, severity: 'low',
    type: 'query', language: 'kuery', index: [index], from: 'now-600s', interval: '5m', max_signals: 100, version: 1, enabled: true, author: [], tags: [],
    query: QUERY, timestamp_override: 'event.ingested', building_block_type: 'default',
    severity_mapping: [], risk_score_mapping: [], threat: [], references: [],
    filters: [{ meta: { negate: true, disabled: false }, query: { match_phrase: { 'host.name': 'build-server' } } }],
    exceptions_list: [{ id: 'l1', list_id: 'admins', type: 'detection', namespace_type: 'single' }],
  };
  const list = { id: 'l1', list_id: 'admins', name: 'Admins', description: 'Admins', type: 'detection', namespace_type: 'single', os_types: [], tags: [] };
  const item = {
    id: 'i1', item_id: 'i1', list_id: 'admins', name: 'helpdesk', description: 'x', type: 'simple', namespace_type: 'single', os_types: [], tags: [], comments: [],
    entries: [{ field: 'user.name', operator: 'included', type: 'match_any', value: ['helpdesk'] }],
  };
  return [rule, list, item].map((x) => JSON.stringify(x)).join('\n') + '\n';
}

async function load(files: Record<string, string>): Promise<Rule[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-query-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const set = await loadRules([dir]);
  assert.deepEqual(set.errors.map((e) => e.message), []);
  assert.deepEqual(set.skipped, []);
  return [...set.rules].sort((a, b) => a.ruleId.localeCompare(b.ruleId));
}

describe('query rules (KQL) on the real server', () => {
  let env: TestEnv;
  let index: string;
  before(async () => {
    env = await testEnv();
    index = `${env.prefix}-q-events`;
    await env.client.indices.create({
      index,
      mappings: {
        properties: {
          '@timestamp': { type: 'date' }, 'event.ingested': { type: 'date' }, 'event.created': { type: 'date' },
          'process.name': { type: 'keyword' }, 'process.pid': { type: 'long' }, 'process.command_line': { type: 'keyword' },
          'source.ip': { type: 'ip' }, 'host.name': { type: 'keyword' }, 'user.name': { type: 'keyword' }, 'rule.name': { type: 'keyword' },
          'event.severity_label': { type: 'keyword' }, 'event.risk': { type: 'long' },
          'dns.answers': { type: 'nested', properties: { type: { type: 'keyword' }, ttl: { type: 'long' } } },
        },
      },
    } as never);
    const at = (m: number) => new Date(NOW - m * MIN).toISOString();
    const base = { 'process.name': 'whoami.exe', 'process.pid': 400, 'source.ip': '10.1.2.3', 'process.command_line': 'whoami /user', 'host.name': 'ws-1', 'user.name': 'alice', 'event.created': at(30) };
    const docs: [string, Record<string, unknown>][] = [
      // Matches, in both windows (minute 3): its time is event.ingested (timestamp_override), not @timestamp.
      ['hit-1', { ...base, '@timestamp': at(60), 'event.ingested': at(3), 'rule.name': 'Whoami by alice', 'event.severity_label': 'bad', 'event.risk': 77 }],
      ['hit-2', { ...base, 'process.name': 'net.exe', 'process.command_line': 'net user /domain', '@timestamp': at(2), 'event.ingested': at(2) }],
      ['low-pid', { ...base, 'process.pid': 99, '@timestamp': at(2), 'event.ingested': at(2) }],
      ['public-ip', { ...base, 'source.ip': '8.8.8.8', '@timestamp': at(2), 'event.ingested': at(2) }],
      ['no-user-arg', { ...base, 'process.command_line': 'whoami /all', '@timestamp': at(2), 'event.ingested': at(2) }],
      ['future', { ...base, 'event.created': new Date(NOW + 86_400_000 * 365 * 5).toISOString(), '@timestamp': at(2), 'event.ingested': at(2) }],
      ['filtered', { ...base, 'host.name': 'build-server', '@timestamp': at(2), 'event.ingested': at(2) }],
      ['excepted', { ...base, 'user.name': 'helpdesk', '@timestamp': at(2), 'event.ingested': at(2) }],
    ];
    await env.client.bulk({ refresh: true, operations: docs.flatMap(([id, d]) => [{ index: { _index: index, _id: id } }, d]) });
  });
  after(async () => env?.close());

  test('from TOML and from a Kibana export: an alert per matching event, shaped as Kibana\'s, once across overlapping executions', async () => {
    const rules = await load({
      'discovery.toml': toml(index),
      'admins.exceptions.yml': 'rule_ids: [7e1c0000-0000-4000-8000-00000000a001]\nitems:\n  - entries: [{ field: user.name, operator: included, type: match, value: helpdesk }]\n',
      'export.ndjson': ndjson(index),
    });
    assert.equal(rules.length, 2);
    for (const rule of rules) {
      assert.equal(rule.type, 'query');
      assert.equal(rule.language, 'kuery');
      const r1 = await executeRule(env.deps, rule, { start: NOW - 10 * MIN, end: NOW - 1.5 * MIN }, 'scheduled');
      const r2 = await executeRule(env.deps, rule, { start: NOW - 5 * MIN, end: NOW }, 'scheduled');
      assert.equal(r1.record.status, 'succeeded', r1.record.error);
      assert.equal(r2.record.status, 'succeeded', r2.record.error);
      assert.equal(r1.record.alertsWritten + r2.record.alertsWritten, 2, rule.file);
      assert.ok(r2.record.duplicatesSkipped >= 1, 'the event of both windows is not alerted twice');
    }
    const alerts = await alertsIn(env.client, env.alertsIndex);
    assert.equal(alerts.length, 4);
    for (const rule of rules) {
      const mine = alerts.filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
      assert.deepEqual(mine.map((a) => a['kibana.alert.ancestors'][0].id).sort(), ['hit-1', 'hit-2'], rule.file);
      for (const a of mine) {
        assert.equal(a['kibana.alert.rule.type'], 'query');
        assert.equal(a['kibana.alert.rule.rule_type_id'], 'siem.queryRule');
        assert.equal(a['kibana.alert.rule.category'], 'Custom Query Rule');
        assert.equal(a['kibana.alert.rule.language'], 'kuery');
        assert.equal(a['kibana.alert.rule.query'].trim(), QUERY);
        assert.equal(a['kibana.alert.building_block_type'], 'default');
        assert.equal(a['kibana.alert.group.id'], undefined);
        assert.match(a['kibana.alert.reason'], /^event with process (whoami|net)\.exe/);
      }
      const lists = mine[0]['kibana.alert.rule.exceptions_list'].map((l: { list_id: string }) => l.list_id);
      assert.deepEqual(lists, ['admins']);
    }
    const fromToml = alerts.filter((a) => a['kibana.alert.rule.rule_id'] === rules[0].ruleId);
    const hit1 = fromToml.find((a) => a['kibana.alert.ancestors'][0].id === 'hit-1')!;
    assert.equal(hit1['kibana.alert.rule.name'], 'Whoami by alice', 'rule_name_override');
    assert.equal(hit1['kibana.alert.severity'], 'high', 'severity_mapping');
    assert.equal(hit1['kibana.alert.risk_score'], 77, 'risk_score_mapping');
    assert.equal(hit1['kibana.alert.original_time'], new Date(NOW - 3 * MIN).toISOString(), 'timestamp_override');
    const hit2 = fromToml.find((a) => a['kibana.alert.ancestors'][0].id === 'hit-2')!;
    assert.equal(hit2['kibana.alert.rule.name'], 'Discovery command');
    assert.equal(hit2['kibana.alert.severity'], 'low');
  });

  test('keyword, numeric, ip, date and wildcard values, and a nested field, agree with the server', async () => {
    const cases: [string, string[]][] = [
      ['process.name:net.exe', ['hit-2']],
      ['process.pid < 100', ['low-pid']],
      ['source.ip:8.8.8.8', ['public-ip']],
      ['event.created > now+1y', ['future']],
      ['process.command_line:*all', ['no-user-arg']],
      ['host.name:build-* and not user.name:alice', []],
    ];
    for (const [query, want] of cases) {
      const [rule] = await load({ 'r.toml': toml(index).replace(QUERY, query).replace(/\[\[rule\.filters\]\][\s\S]*$/, '') });
      const { record } = await executeRule({ ...env.deps, sink: new MemoryAlertSink() }, rule, { start: NOW - 10 * MIN, end: NOW }, 'once');
      assert.equal(record.status, 'succeeded', `${query}: ${record.error}`);
      assert.equal(record.matches, want.length, query);
    }
    // Nested: the in-memory check needs the nested mapping, which `_field_caps` gives the execution.
    await env.client.index({ index, id: 'dns', refresh: true, document: { '@timestamp': new Date(NOW - MIN).toISOString(), 'event.ingested': new Date(NOW - MIN).toISOString(), dns: { answers: [{ type: 'A', ttl: 5 }, { type: 'CNAME', ttl: 900 }] } } });
    for (const [query, n] of [['dns.answers:{ type:CNAME and ttl > 600 }', 1], ['dns.answers:{ type:A and ttl > 600 }', 0]] as const) {
      const [rule] = await load({ 'r.toml': toml(index).replace(QUERY, query).replace(/\[\[rule\.filters\]\][\s\S]*$/, '') });
      const { record } = await executeRule({ ...env.deps, sink: new MemoryAlertSink() }, rule, { start: NOW - 10 * MIN, end: NOW }, 'once');
      assert.equal(record.status, 'succeeded', `${query}: ${record.error}`);
      assert.equal(record.matches, n, query);
    }
  });

  test('on a text field the server decides what is read, the check in memory approximates it, and the execution log says so', async () => {
    const textIndex = `${env.prefix}-q-text`;
    await env.client.indices.create({ index: textIndex, mappings: { properties: { '@timestamp': { type: 'date' }, 'event.ingested': { type: 'date' }, message: { type: 'text' } } } } as never);
    const at = new Date(NOW - MIN).toISOString();
    await env.client.bulk({ refresh: true, operations: [
      { index: { _index: textIndex, _id: 't1' } }, { '@timestamp': at, 'event.ingested': at, message: 'User ran WHOAMI /all' },
      { index: { _index: textIndex, _id: 't2' } }, { '@timestamp': at, 'event.ingested': at, message: 'nothing here' },
    ] });
    const [rule] = await load({ 'r.toml': toml(textIndex).replace(QUERY, 'message:whoami').replace(/\[\[rule\.filters\]\][\s\S]*$/, '') });
    const { record } = await executeRule({ ...env.deps, sink: new MemoryAlertSink() }, rule, { start: NOW - 10 * MIN, end: NOW }, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    assert.equal(record.eventsRead, 1, 'the server selects the hit');
    assert.equal(record.matches, 1);
    const warn = env.logs().find((l) => l.rule_id === rule.ruleId && String(l.message).startsWith('the in-memory check approximates'));
    assert.deepEqual(warn?.approximate_fields, ['message']);
  });

  test('a KQL syntax error names the file, line and column of the query', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-query-'));
    await writeFile(join(dir, 'bad.toml'), toml(index).replace(QUERY, 'process.name:a or :b'));
    const set = await loadRules([dir]);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0].message, /bad\.toml:21:19: rule\.query: KQL syntax error: /);
  });

  test('a corpus query rule naming the Endpoint list (read from ../shared/corpus) alerts on the event it describes, not on the one it excludes, and validate says the list is applied as empty', async () => {
    const file = join(CORPUS, 'rules/integrations/endpoint/elastic_endpoint_security.toml');
    const text = await readFile(file, 'utf8');
    assert.match(text, /type = "query"/);
    assert.match(text, /event\.module:\(endpoint and not endgame\)/);
    const set = await loadRules([file]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    const rule = { ...set.rules[0], indices: [`${env.prefix}-events-corpus`] };
    assert.deepEqual(rule.exceptions?.assumedEmpty, ['endpoint_list']);
    const ts = new Date(NOW - MIN).toISOString();
    const ops = [['e1', 'endpoint'], ['e2', 'endgame']].flatMap(([id, module]) => [{ index: { _index: `${env.prefix}-events-corpus`, _id: id } }, {
      '@timestamp': new Date(NOW - 60 * MIN).toISOString(), event: { kind: 'alert', module, ingested: ts, risk_score: 73 }, host: { name: 'ws-9' },
    }]);
    await env.client.bulk({ refresh: true, operations: ops });
    const { record } = await executeRule(env.deps, rule, { start: NOW - 10 * MIN, end: NOW }, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    assert.equal(record.alertsWritten, 1);
    const [alert] = (await alertsIn(env.client, env.alertsIndex)).filter((x) => x['kibana.alert.rule.rule_id'] === rule.ruleId);
    assert.equal(alert['kibana.alert.ancestors'][0].id, 'e1');
    assert.equal(alert['kibana.alert.risk_score'], 73);
    assert.deepEqual(alert['kibana.alert.rule.exceptions_list'].map((l: { list_id: string }) => l.list_id), ['endpoint_list']);
    const line = env.logs().find((l) => l.rule_id === rule.ruleId && l.message === 'execution finished');
    assert.deepEqual(line?.exception_lists_applied_empty, ['endpoint_list'], 'the execution log says the Endpoint list was applied as empty');
    const out = await runCli(['validate', file]);
    assert.match(out.stdout, /; endpoint_list: not provided, applied as empty\n/);
    assert.match(out.stdout, /1 valid, 0 skipped, 0 invalid/);
  });
});
