/**
 * Indicator match rules (`type = "threat_match"`) end to end on the real server: indicators in
 * their own index, events in an ECS index; loaded from TOML through the default registry (KQL),
 * executed through the aggregated plan; `threat.enrichments` as Kibana writes them. Plus a corpus
 * rule (read at test time from ../shared/corpus) loaded and run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import { loadElasticToml } from '../../src/rules/elastic-toml.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const CORPUS = new URL('../../../shared/corpus/elastic-detection-rules/rules/threat_intel/threat_intel_indicator_match_address.toml', import.meta.url);

function toml(id: string, index: string, threatIndex: string, mapping: string, query = 'source.ip:*'): string {
  return `[metadata]
creation_date = "2026/11/26"

[rule]
rule_id = "${id}"
name = "Indicator ${id}"
description = "test"
type = "threat_match"
language = "kuery"
query = '''${query}'''
index = ["${index}"]
from = "now-10m"
interval = "5m"
risk_score = 73
severity = "high"
threat_index = ["${threatIndex}"]
threat_query = '@timestamp >= "now-30d/d" and threat.indicator.type:"ipv4-addr"'
threat_language = "kuery"
${mapping}
`;
}

const single = `[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "source.ip"
type = "mapping"
value = "threat.indicator.ip"
`;
const pair = `[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "destination.ip"
type = "mapping"
value = "threat.indicator.ip"
[[rule.threat_mapping.entries]]
field = "destination.port"
type = "mapping"
value = "threat.indicator.port"
`;

function load(text: string): Rule {
  const out = loadElasticToml('test.toml', text);
  if (!('rule' in out)) throw new Error(`skipped: ${out.skipped.reason}`);
  return out.rule;
}

describe('indicator match rules', () => {
  let env: TestEnv;
  let events: string;
  let ti: string;
  // Far from the real clock: threat_query's `now` must be the execution's end, not the server's.
  const now = Date.parse('2025-03-10T12:00:00Z');
  before(async () => {
    env = await testEnv();
    events = `${env.prefix}-events-tm`;
    ti = `${env.prefix}-ti`;
    const ind = (id: string, ip: string, port: number, t: number) => ({
      index: ti, id, source: { '@timestamp': new Date(t).toISOString(), event: { kind: 'enrichment', category: 'threat' }, threat: { indicator: { type: 'ipv4-addr', ip, port, provider: 'feed-a' } } },
    });
    await indexEvents(env.client, [
      ind('i-src', '10.0.0.1', 0, now - DAY),
      ind('i-pair', '10.0.0.2', 443, now - 2 * DAY),
      // Older than threat_query's "now-30d/d": never used.
      ind('i-old', '10.0.0.3', 0, now - 40 * DAY),
      // As a threat intel integration writes it (for the corpus rule).
      { index: ti, id: 'i-feed', source: { '@timestamp': new Date(now - DAY).toISOString(), event: { module: 'threatintel', kind: 'enrichment', category: 'threat', type: 'indicator' }, threat: { indicator: { ip: '10.0.0.9' } } } },
    ]);
    const ev = (id: string, t: number, src: string, dst: string, port: number) => ({
      index: events, id, source: { '@timestamp': new Date(t).toISOString(), source: { ip: src }, destination: { ip: dst, port }, host: { name: `h-${id}` } },
    });
    await indexEvents(env.client, [
      ev('e-src', now - 5 * MIN, '10.0.0.1', '192.168.1.1', 80),
      ev('e-pair', now - 4 * MIN, '192.168.1.2', '10.0.0.2', 443),
      ev('e-pair-port', now - 4 * MIN, '192.168.1.3', '10.0.0.2', 80),
      ev('e-old-ind', now - 3 * MIN, '10.0.0.3', '192.168.1.1', 80),
      ev('e-outside', now - 30 * MIN, '10.0.0.1', '192.168.1.1', 80),
      ev('e-none', now - 2 * MIN, '192.168.9.9', '192.168.1.1', 80),
      ev('e-feed', now - 2 * MIN, '192.168.1.4', '10.0.0.9', 80),
    ]);
  });
  after(async () => env?.close());

  test('an event matching an indicator (single entry, or every entry of an AND item) alerts once, with threat.enrichments', async () => {
    const rule = load(toml('tm-1', events, ti, single + pair));
    assert.equal(rule.compiled.plan, 'aggregated');
    const r1 = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.alertsWritten, 2);
    // Overlapping execution over the same events: the same alert ids.
    const r2 = await executeRule(env.deps, rule, { start: now - 8 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.alertsWritten, 0);
    assert.equal(r2.record.duplicatesSkipped, 2);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'tm-1');
    const byEvent = new Map(alerts.map((a) => [a['kibana.alert.ancestors'][0].id as string, a]));
    assert.deepEqual([...byEvent.keys()].sort(), ['e-pair', 'e-src'], 'not: a port that differs, an old indicator, an event outside the window, no match');
    const a = byEvent.get('e-src')!;
    assert.equal(a['kibana.alert.rule.type'], 'threat_match');
    assert.equal(a['kibana.alert.rule.rule_type_id'], 'siem.indicatorRule');
    assert.equal(a['kibana.alert.rule.category'], 'Indicator Match Rule');
    assert.deepEqual(a['threat.enrichments'] ?? a.threat?.enrichments, [{
      indicator: { type: 'ipv4-addr', ip: '10.0.0.1', port: 0, provider: 'feed-a' },
      matched: { atomic: '10.0.0.1', field: 'source.ip', id: 'i-src', index: ti, type: 'indicator_match_rule' },
    }]);
    const p = byEvent.get('e-pair')!;
    const enr = (p['threat.enrichments'] ?? p.threat?.enrichments) as { matched: Record<string, unknown> }[];
    assert.deepEqual(enr.map((e) => [e.matched.field, e.matched.atomic, e.matched.id]), [['destination.ip', '10.0.0.2', 'i-pair'], ['destination.port', 443, 'i-pair']]);
  });

  test('indicators one a page (items_per_search = 1): the same alerts, each event once', async () => {
    const rule = load(toml('tm-paged', events, ti, single + pair).replace('threat_language = "kuery"', 'threat_language = "kuery"\nitems_per_search = 1'));
    const r = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r.record.status, 'succeeded', r.record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'tm-paged');
    assert.deepEqual(alerts.map((a) => a['kibana.alert.ancestors'][0].id).sort(), ['e-pair', 'e-src']);
    const enr = alerts.map((a) => (a['threat.enrichments'] ?? a.threat?.enrichments) as { matched: { id: string } }[]);
    assert.deepEqual(enr.map((e) => e.map((x) => x.matched.id)).sort(), [['i-pair', 'i-pair'], ['i-src']]);
  });

  test('1,100 indicators in one page (2,200 clauses): the event searches stay under the server\'s clause limit', async () => {
    const many = `${env.prefix}-ti-many`;
    const docs = Array.from({ length: 1100 }, (_, k) => ({
      index: many, id: `m${k}`, source: { '@timestamp': new Date(now - DAY).toISOString(), threat: { indicator: { type: 'ipv4-addr', ip: `10.9.${k >> 8}.${k & 255}`, port: 1 } } },
    }));
    await indexEvents(env.client, docs);
    await indexEvents(env.client, [{ index: `${env.prefix}-events-many`, id: 'e-last', source: { '@timestamp': new Date(now - MIN).toISOString(), source: { ip: '10.9.4.75' } } }]);
    const rule = load(toml('tm-many', `${env.prefix}-events-many`, many, single + pair));
    const r = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r.record.status, 'succeeded', r.record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === 'tm-many');
    assert.deepEqual(alerts.map((a) => ((a['threat.enrichments'] ?? a.threat?.enrichments) as { matched: { id: string } }[]).map((e) => e.matched.id)), [['m1099']]);
  });

  test('settings are validated with errors naming the key', () => {
    const bad = (text: string, message: RegExp) => assert.throws(() => loadElasticToml('bad.toml', text), (err: Error) => message.test(err.message));
    bad(toml('tm-b1', events, ti, single).replace(/threat_index = .*\n/, ''), /rule\.threat_index: an indicator match rule needs/);
    bad(toml('tm-b2', events, ti, single.replace('type = "mapping"', 'type = "other"')), /rule\.threat_mapping\.0\.entries\.0\.type/);
    bad(toml('tm-b3', events, ti, ''), /rule\.threat_mapping: expected/);
    bad(toml('tm-b4', events, ti, single).replace('threat_language = "kuery"', 'threat_language = "lucene"'), /rule\.threat_language/);
    bad(toml('tm-b5', events, ti, single).replace('threat_language = "kuery"', 'items_per_search = 0'), /rule\.items_per_search/);
  });

  test('a corpus rule (threat_intel_indicator_match_address) loads and runs, its threat_index pointed at the test indicators', async () => {
    const original = readFileSync(CORPUS, 'utf8');
    const text = original.replace(/^threat_index = .*$/m, `threat_index = ["${ti}"]`);
    assert.notEqual(text, original);
    const out = loadElasticToml('threat_intel_indicator_match_address.toml', text);
    if (!('rule' in out)) throw new Error(`not loaded: ${JSON.stringify(out)}`);
    const rule: Rule = { ...out.rule, indices: [events] };
    const r = await executeRule(env.deps, rule, { start: now - 10 * MIN, end: now }, 'scheduled');
    assert.equal(r.record.status, 'succeeded', r.record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === out.rule.ruleId);
    // Only the integration-shaped indicator passes its threat_query and threat_filters; e-feed's destination.ip matches it.
    assert.deepEqual(alerts.map((a) => a['kibana.alert.ancestors'][0].id), ['e-feed']);
    assert.equal(r.record.alertsWritten, 1);
  });
});
