/**
 * threshold and new_terms rules end to end on the real server: loaded from TOML through the
 * registry (with the stand-in query translator that takes `*` until the KQL module plugs in),
 * executed through the aggregated plan, alerts shaped as Kibana's; the threshold signal history
 * kept in the state store across two overlapping executions; load errors naming the key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import { compileExceptions } from '../../src/exceptions/index.js';
import { aggregatedEntries, MATCH_ALL_ONLY } from '../../src/rules/aggregated.js';
import { loadElasticToml } from '../../src/rules/elastic-toml.js';
import { loadKibanaNdjson } from '../../src/rules/kibana-ndjson.js';
import type { Rule } from '../../src/rules/model.js';
import { EQL_ENTRY, QueryRegistry } from '../../src/rules/registry.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';

const MIN = 60_000;
const registry = new QueryRegistry([EQL_ENTRY, ...aggregatedEntries(MATCH_ALL_ONLY)]);

function toml(index: string, type: string, body: string, query = '*'): string {
  return `[metadata]
creation_date = "2026/11/26"

[rule]
rule_id = "agg-${type}"
name = "Aggregated ${type}"
description = "test"
type = "${type}"
language = "kuery"
query = '''${query}'''
index = ["${index}"]
from = "now-10m"
interval = "5m"
risk_score = 47
severity = "medium"
${body}
`;
}

function load(text: string): Rule {
  const out = loadElasticToml('test.toml', text, registry);
  if (!('rule' in out)) throw new Error(`skipped: ${out.skipped.reason}`);
  return out.rule;
}

describe('threshold and new_terms rules', () => {
  let env: TestEnv;
  const now = Date.parse('2026-11-26T12:00:00Z');
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('a threshold rule alerts once per bucket at its value, with threshold_result; an overlapping execution adds nothing', async () => {
    const index = `${env.prefix}-events-thr`;
    const ev = (id: string, host: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), host: { name: host }, user: { name: `u-${id}` } } });
    await indexEvents(env.client, [ev('a', 'h1', now - 8 * MIN), ev('b', 'h1', now - 7 * MIN), ev('c', 'h1', now - 6 * MIN), ev('d', 'h2', now - 5 * MIN), ev('e', 'h2', now - 4 * MIN)]);
    const rule = load(toml(index, 'threshold', `
[rule.threshold]
field = ["host.name"]
value = 3
[[rule.threshold.cardinality]]
field = "user.name"
value = 2
`));
    assert.equal(rule.compiled.plan, 'aggregated');
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.alertsWritten, 1);
    const history = await env.deps.store.thresholdHistory(rule.ruleId);
    assert.deepEqual([...history.values()], [now - 6 * MIN]);
    // Overlapping: the next window still holds h1's three events; the history keeps them from counting.
    const r2 = await executeRule(env.deps, rule, { start: now - 5 * MIN, end: now + 5 * MIN }, 'scheduled');
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.matches, 0);
    const r3 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r3.record.matches, 0, 'a window over the same events again: nothing');
    const alerts = await alertsIn(env.client, env.alertsIndex);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.deepEqual(a['kibana.alert.threshold_result'], {
      terms: [{ field: 'host.name', value: 'h1' }], count: 3, cardinality: [{ field: 'user.name', value: 3 }], from: new Date(now - 8 * MIN).toISOString(),
    });
    assert.equal(a['kibana.alert.original_time'], new Date(now - 6 * MIN).toISOString());
    assert.equal(a['kibana.alert.rule.type'], 'threshold');
    assert.equal(a['kibana.alert.rule.rule_type_id'], 'siem.thresholdRule');
    assert.equal(a['kibana.alert.rule.category'], 'Threshold Rule');
    assert.equal(a['kibana.alert.rule.language'], 'kuery');
  });

  test('a new_terms rule alerts on each term first seen in the window, from its first event', async () => {
    const index = `${env.prefix}-events-nt`;
    const ev = (id: string, host: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), host: { name: host }, process: { name: `p-${id}` } } });
    await indexEvents(env.client, [ev('old', 'known', now - 2 * 24 * 60 * MIN), ev('k1', 'known', now - 5 * MIN), ev('n1', 'fresh', now - 4 * MIN), ev('n2', 'fresh', now - 3 * MIN)]);
    const rule = load(toml(index, 'new_terms', `
[rule.new_terms]
field = "new_terms_fields"
value = ["host.name"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-7d"
`));
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.alertsWritten, 1);
    const r2 = await executeRule(env.deps, rule, { start: now - 8 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r2.record.alertsWritten, 0);
    assert.equal(r2.record.duplicatesSkipped, 1, 'the overlapping window finds the same first event: same alert id');
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.type'] === 'new_terms');
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0]['kibana.alert.new_terms'], ['fresh']);
    assert.deepEqual(alerts[0]['kibana.alert.ancestors'], [{ id: 'n1', index, type: 'event', depth: 0 }]);
    assert.equal(alerts[0].process.name, 'p-n1');
    assert.equal(alerts[0]['kibana.alert.rule.category'], 'New Terms Rule');
  });

  test('the query part is pluggable: a translator narrows the events the aggregation counts', async () => {
    const index = `${env.prefix}-events-q`;
    const ev = (id: string, action: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), host: { name: 'hq' }, event: { action } } });
    await indexEvents(env.client, [ev('q1', 'logon', now - 8 * MIN), ev('q2', 'logon', now - 7 * MIN), ev('q3', 'logoff', now - 6 * MIN)]);
    // A hand translator for `field:value` (the KQL module's place).
    const hand = new QueryRegistry([EQL_ENTRY, ...aggregatedEntries((q) => {
      const [field, value] = q.split(':');
      return { fields: [field], toDsl: () => ({ term: { [field]: value } }) };
    })]);
    const text = (value: number) => toml(index, 'threshold', `[rule.threshold]\nfield = ["host.name"]\nvalue = ${value}\n`, 'event.action:logon').replace('agg-threshold', `agg-q${value}`);
    const load2 = (t: string) => { const o = loadElasticToml('q.toml', t, hand); if (!('rule' in o)) throw new Error('skipped'); return o.rule; };
    assert.deepEqual(load2(text(2)).compiled.fields, ['host.name', 'event.action']);
    const two = await executeRule(env.deps, load2(text(2)), { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(two.record.matches, 1, two.record.error);
    const three = await executeRule(env.deps, load2(text(3)), { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(three.record.matches, 0, 'the logoff event is not counted');
    // The same with the KQL module (the default registry).
    const viaKql = (value: number, query: string) => {
      const o = loadElasticToml('k.toml', toml(index, 'threshold', `[rule.threshold]\nfield = ["host.name"]\nvalue = ${value}\n`, query).replace('agg-threshold', `agg-k${value}-${query.length}`));
      if (!('rule' in o)) throw new Error('skipped');
      return o.rule;
    };
    assert.equal((await executeRule(env.deps, viaKql(2, 'event.action:logon'), { start: now - 10 * MIN, end: now }, 'scheduled')).record.matches, 1);
    assert.equal((await executeRule(env.deps, viaKql(3, 'event.action:logon'), { start: now - 10 * MIN, end: now }, 'scheduled')).record.matches, 0);
    assert.equal((await executeRule(env.deps, viaKql(3, 'event.action:(logon or logoff)'), { start: now - 10 * MIN, end: now }, 'scheduled')).record.matches, 1);
  });

  test('exceptions apply to both types in the search: an excepted event is not counted, and is no new term', async () => {
    const index = `${env.prefix}-events-exc`;
    const ev = (id: string, host: string, user: string, t: number) => ({ index, id, source: { '@timestamp': new Date(t).toISOString(), host: { name: host }, user: { name: user } } });
    await indexEvents(env.client, [ev('x1', 'hx', 'alice', now - 8 * MIN), ev('x2', 'hx', 'svc-backup', now - 7 * MIN), ev('x3', 'hy', 'svc-backup', now - 6 * MIN)]);
    const exceptions = compileExceptions([], [{ source: 'test', itemId: 'i1', osTypes: [], entries: [{ field: 'user.name', operator: 'included', type: 'wildcard', value: 'svc-*' }] }], new Map());
    const thr = { ...load(toml(index, 'threshold', '[rule.threshold]\nfield = ["host.name"]\nvalue = 2\n').replace('agg-threshold', 'agg-exc-t')), exceptions };
    const without = await executeRule(env.deps, { ...thr, ruleId: 'agg-exc-t0', exceptions: undefined }, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(without.record.matches, 1, 'without the exception hx has two events');
    const withExc = await executeRule(env.deps, thr, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(withExc.record.matches, 0, withExc.record.error);
    const nt = { ...load(toml(index, 'new_terms', '[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["host.name"]\n[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\nvalue = "now-7d"\n').replace('agg-new_terms', 'agg-exc-n')), exceptions };
    const r = await executeRule(env.deps, nt, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r.record.matches, 1, r.record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'agg-exc-n');
    assert.deepEqual(alerts.map((a) => [a['kibana.alert.new_terms'], a['kibana.alert.ancestors'][0].id]), [[['hx'], 'x1']]);
  });

  test('load errors name the key', () => {
    const index = 'x';
    assert.throws(() => load(toml(index, 'threshold', '[rule.threshold]\nfield = ["a"]\nvalue = 0\n')), /test\.toml:\d+:\d+: rule\.threshold\.value: /);
    assert.throws(() => load(toml(index, 'threshold', '[rule.threshold]\nfield = ["a", "b", "c", "d"]\nvalue = 2\n')), /rule\.threshold\.field: at most 3 fields, found 4/);
    assert.throws(() => load(toml(index, 'threshold', '')), /rule\.threshold: a threshold rule needs a threshold/);
    assert.throws(() => load(toml(index, 'threshold', '[rule.threshold]\nfield = ["a"]\nvalue = 2\n', 'host.name:x')), /rule\.query: kuery queries other than "\*" are not translated yet/);
    const nt = (fields: string, start: string) => toml(index, 'new_terms', `[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ${fields}\n[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\nvalue = "${start}"\n`);
    assert.throws(() => load(nt('["a"]', 'now-5m')), /rule\.new_terms\.history_window_start: "now-5m" must be earlier than the rule's from \("now-10m"\)/);
    assert.throws(() => load(nt('["a"]', 'last week')), /expected date math like "now-7d", found "last week"/);
    assert.throws(() => load(nt('[]', 'now-7d')), /rule\.new_terms\.value: expected 1 to 3 field names, found \[\]/);
    // A Kibana export: threshold.field as one string, new_terms_fields and history_window_start at the top.
    const common = { description: 'd', risk_score: 21, severity: 'low', language: 'kuery', query: '*', index: ['logs-*'], from: 'now-6m', interval: '5m' };
    const lines = [
      { ...common, rule_id: 't', name: 'T', type: 'threshold', threshold: { field: 'host.name', value: 5, cardinality: [] } },
      { ...common, rule_id: 'n', name: 'N', type: 'new_terms', new_terms_fields: ['host.name', 'user.name'], history_window_start: 'now-14d' },
      { ...common, rule_id: 'b', name: 'B', type: 'new_terms', new_terms_fields: ['a', 'b', 'c', 'd'], history_window_start: 'now-14d' },
    ].map((l) => JSON.stringify(l)).join('\n');
    const got = loadKibanaNdjson('export.ndjson', lines, registry);
    assert.deepEqual(got.map((o) => ('rule' in o ? [o.rule.type, o.rule.compiled.kind, o.rule.compiled.fields] : 'error' in o ? o.error.message : o.skipped.reason)), [
      ['threshold', 'threshold', ['host.name']],
      ['new_terms', 'new_terms', ['host.name', 'user.name']],
      'export.ndjson:3:1: rule.new_terms_fields: expected 1 to 3 field names, found ["a","b","c","d"]',
    ]);
    // The default registry runs them with KQL; Lucene queries are not translated, so skipped with the reason.
    const kql = loadElasticToml('test.toml', toml(index, 'threshold', '[rule.threshold]\nfield = ["a"]\nvalue = 2\n', 'event.action:"logon" and not user.name:admin*'));
    assert.ok('rule' in kql && kql.rule.compiled.plan === 'aggregated');
    assert.deepEqual('rule' in kql && kql.rule.compiled.fields, ['a', 'event.action', 'user.name']);
    const lucene = loadElasticToml('test.toml', nt('["a"]', 'now-7d').replace('language = "kuery"', 'language = "lucene"'));
    assert.ok('skipped' in lucene && /rule type 'new_terms' with language 'lucene' is not run by Lookout yet/.test(lucene.skipped.reason));
    assert.throws(() => loadElasticToml('test.toml', toml(index, 'threshold', '[rule.threshold]\nfield = ["a"]\nvalue = 2\n', 'event.action:(logon')), /test\.toml:\d+:\d+: rule\.query: KQL syntax error: .* \(query 1:\d+\)/);
  });
});
