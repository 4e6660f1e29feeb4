import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { instanceId, suppressionTerms } from '../../src/alerts/suppress.js';
import { MemoryAlertSink } from '../../src/alerts/writer.js';
import { RuleRun, runRule } from '../../src/engine/run.js';
import type { CompiledQuery } from '../../src/rules/language.js';
import type { RuleMatch } from '../../src/engine/events.js';
import { loadRules } from '../../src/rules/load.js';
import type { AlertSuppression } from '../../src/rules/suppression.js';
import { beacon, suppressedRule, suppressedRuleFile } from '../helpers/suppression.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const MIN = 60_000;
const ev = (source: Record<string, unknown>, id = 'e') => ({ index: 'i', id, timestamp: T0, source });
const byHost: AlertSuppression = { groupBy: ['host.name', 'user.name'], missingFields: 'suppress' };

describe('suppression terms', () => {
  const cases: [string, AlertSuppression, RuleMatch, unknown][] = [
    ['one value per field', byHost, { events: [ev({ host: { name: 'h1' }, user: { name: 'u' } })], joinKeys: [] },
      [{ field: 'host.name', value: 'h1' }, { field: 'user.name', value: 'u' }]],
    ['a missing field is null', byHost, { events: [ev({ host: { name: 'h1' } })], joinKeys: [] },
      [{ field: 'host.name', value: 'h1' }, { field: 'user.name', value: null }]],
    ['several values are one term, sorted', { ...byHost, groupBy: ['host.ip'] }, { events: [ev({ host: { ip: ['10.0.0.2', '10.0.0.1'] } })], joinKeys: [] },
      [{ field: 'host.ip', value: ['10.0.0.1', '10.0.0.2'] }]],
    ['a dotted key reads like a nested one', { ...byHost, groupBy: ['host.name'] }, { events: [ev({ 'host.name': 'h9' })], joinKeys: [] },
      [{ field: 'host.name', value: 'h9' }]],
    ['a sequence whose events share the value', { ...byHost, groupBy: ['host.name'] },
      { events: [ev({ host: { name: 'h1' } }, 'a'), ev({ host: { name: 'h1' } }, 'b')], joinKeys: [] }, [{ field: 'host.name', value: 'h1' }]],
    ['a sequence whose events differ: null', byHost,
      { events: [ev({ host: { name: 'h1' }, user: { name: 'a' } }, 'a'), ev({ host: { name: 'h1' }, user: { name: 'b' } }, 'b')], joinKeys: [] },
      [{ field: 'host.name', value: 'h1' }, { field: 'user.name', value: null }]],
    ['a sequence keeps array order: different order is no match', { ...byHost, groupBy: ['ips'] },
      { events: [ev({ ips: ['1.1.1.1', '0.0.0.0'] }, 'a'), ev({ ips: ['0.0.0.0', '1.1.1.1'] }, 'b')], joinKeys: [] }, [{ field: 'ips', value: null }]],
    ['a threshold rule: the bucket terms', { groupBy: [], durationMs: MIN, missingFields: 'suppress' },
      { events: [], joinKeys: [], entity: { key: 'k', timestamp: T0, fields: { terms: [{ field: 'source.ip', value: '10.1.1.1' }], count: 9 } } },
      [{ field: 'source.ip', value: '10.1.1.1' }]],
    ['an aggregated match without events: from its bucket', { ...byHost, groupBy: ['user.name'] },
      { events: [], joinKeys: [], entity: { key: 'k', timestamp: T0, fields: { terms: [{ field: 'user.name', value: 'bob' }] } } },
      [{ field: 'user.name', value: 'bob' }]],
  ];
  for (const [name, s, match, want] of cases) test(name, () => assert.deepEqual(suppressionTerms(s, match), want));

  test('the instance id is the rule and the terms', () => {
    const a = instanceId('r1', [{ field: 'host.name', value: 'h1' }]);
    assert.equal(a, instanceId('r1', [{ field: 'host.name', value: 'h1' }]));
    assert.notEqual(a, instanceId('r2', [{ field: 'host.name', value: 'h1' }]));
    assert.notEqual(a, instanceId('r1', [{ field: 'host.name', value: 'h2' }]));
    assert.notEqual(a, instanceId('r1', [{ field: 'host.name', value: null }]));
  });
});

describe('alert_suppression in rule files', () => {
  test('TOML: group_by, duration and strategy are read', async () => {
    const rule = await suppressedRule({ ruleId: 's-load', indices: ['x'], suppression: 'group_by = ["host.name"]\nmissing_fields_strategy = "doNotSuppress"\nduration = { value = 2, unit = "h" }' });
    assert.deepEqual(rule.alertSuppression, { groupBy: ['host.name'], durationMs: 2 * 3_600_000, missingFields: 'doNotSuppress' });
  });

  test('TOML: without duration and strategy: per execution, suppress', async () => {
    const rule = await suppressedRule({ ruleId: 's-load2', indices: ['x'], suppression: 'group_by = ["host.name", "user.name"]' });
    assert.deepEqual(rule.alertSuppression, { groupBy: ['host.name', 'user.name'], durationMs: undefined, missingFields: 'suppress' });
  });

  const bad: [string, string, RegExp][] = [
    ['four fields', 'group_by = ["a", "b", "c", "d"]', /rule\.alert_suppression\.group_by: takes at most 3 fields/],
    ['no field', 'group_by = []', /rule\.alert_suppression\.group_by: needs 1 to 3 fields/],
    ['no group_by', 'duration = { value = 5, unit = "m" }', /rule\.alert_suppression\.group_by: needs 1 to 3 fields/],
    ['a unit Kibana does not take', 'group_by = ["a"]\nduration = { value = 1, unit = "d" }', /rule\.alert_suppression\.duration\.unit: /],
    ['a zero duration', 'group_by = ["a"]\nduration = { value = 0, unit = "m" }', /rule\.alert_suppression\.duration\.value: must be at least 1/],
    ['an unknown strategy', 'group_by = ["a"]\nmissing_fields_strategy = "drop"', /rule\.alert_suppression\.missing_fields_strategy: /],
    ['an unknown key', 'group_by = ["a"]\ngroupby = ["b"]', /rule\.alert_suppression: .*groupby/],
    ['a field twice', 'group_by = ["a", "a"]', /rule\.alert_suppression\.group_by: a field is named twice/],
  ];
  for (const [name, body, message] of bad) {
    test(`TOML error: ${name}, with the file and line`, async () => {
      const file = await suppressedRuleFile({ ruleId: 's-bad', indices: ['x'], suppression: body });
      const set = await loadRules([file]);
      assert.equal(set.rules.length, 0);
      assert.equal(set.errors.length, 1);
      assert.match(set.errors[0].message, message);
      assert.ok(set.errors[0].message.includes(file), set.errors[0].message);
      assert.match(set.errors[0].message, /:\d+:\d+/);
    });
  }

  test('Kibana NDJSON: alert_suppression read, a bad one names the line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-supp-'));
    const base = { rule_id: 'n1', name: 'n', type: 'eql', language: 'eql', query: 'process where true', index: ['x'], risk_score: 1, severity: 'low' };
    const file = join(dir, 'export.ndjson');
    await writeFile(file, [
      JSON.stringify({ ...base, alert_suppression: { group_by: ['host.name'], duration: { value: 30, unit: 's' }, missing_fields_strategy: 'suppress' } }),
      JSON.stringify({ ...base, rule_id: 'n2', alert_suppression: { group_by: ['host.name'], duration: { value: 30, unit: 'days' } } }),
    ].join('\n'));
    const set = await loadRules([file]);
    assert.deepEqual(set.rules.map((r) => r.alertSuppression), [{ groupBy: ['host.name'], durationMs: 30_000, missingFields: 'suppress' }]);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0].message, /:2:1.*alert_suppression\.duration\.unit/);
  });
});

describe('folding alerts (in memory)', () => {
  const rule = (suppression: string, extra: Partial<{ maxSignals: number }> = {}) =>
    suppressedRule({ ruleId: 's-fold', indices: ['events'], suppression }).then((r) => ({ ...r, ...extra }));
  const run = (r: Awaited<ReturnType<typeof rule>>, sink: MemoryAlertSink, events: ReturnType<typeof beacon>[], now = T0 + 10 * MIN) =>
    runRule(r, events, sink, { now: new Date(now), batchSize: 2 });
  const docs = (sink: MemoryAlertSink) => sink.alerts.map((a) => a.doc as Record<string, any>);

  test('one execution: alerts of one group become one, with the count, start and end (across batches)', async () => {
    const r = await rule('group_by = ["host.name"]');
    const sink = new MemoryAlertSink();
    const counts = await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h2'), beacon('c', T0 + 2000, 'h1'), beacon('d', T0 + 3000, 'h1'), beacon('e', T0 + 4000, 'h1')]);
    assert.equal(counts.alertsWritten, 2);
    assert.equal(counts.suppressed, 3);
    const h1 = docs(sink).find((d) => d['kibana.alert.suppression.terms'][0].value === 'h1')!;
    assert.equal(h1['kibana.alert.suppression.docs_count'], 3);
    assert.equal(h1['kibana.alert.suppression.start'], new Date(T0).toISOString());
    assert.equal(h1['kibana.alert.suppression.end'], new Date(T0 + 4000).toISOString());
    assert.equal(h1['kibana.alert.instance.id'], instanceId('s-fold', [{ field: 'host.name', value: 'h1' }]));
    const h2 = docs(sink).find((d) => d['kibana.alert.suppression.terms'][0].value === 'h2')!;
    assert.equal(h2['kibana.alert.suppression.docs_count'], 0);
  });

  test('missing fields: suppress groups them as null, doNotSuppress writes each alone without suppression fields', async () => {
    const events = [beacon('a', T0, undefined), beacon('b', T0 + 1000, undefined), beacon('c', T0 + 2000, 'h1')];
    const s1 = new MemoryAlertSink();
    await run(await rule('group_by = ["host.name"]\nmissing_fields_strategy = "suppress"'), s1, events);
    assert.deepEqual(docs(s1).map((d) => [d['kibana.alert.suppression.terms'][0].value, d['kibana.alert.suppression.docs_count']]), [[null, 1], ['h1', 0]]);
    const s2 = new MemoryAlertSink();
    await run(await rule('group_by = ["host.name"]\nmissing_fields_strategy = "doNotSuppress"'), s2, events);
    assert.equal(s2.alerts.length, 3);
    assert.equal(docs(s2).filter((d) => d['kibana.alert.instance.id'] === undefined).length, 2);
  });

  test('per execution (no duration): a later execution writes a new alert; an event it reads again is not counted', async () => {
    const r = await rule('group_by = ["host.name"]');
    const sink = new MemoryAlertSink();
    await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h1')]);
    const c2 = await run(r, sink, [beacon('b', T0 + 1000, 'h1'), beacon('c', T0 + 5 * MIN, 'h1'), beacon('d', T0 + 6 * MIN, 'h1')], T0 + 15 * MIN);
    assert.equal(c2.alertsWritten, 1);
    assert.equal(c2.duplicates, 1, 'b was counted by the first execution');
    assert.deepEqual(docs(sink).map((d) => d['kibana.alert.suppression.docs_count']), [1, 1]);
  });

  test('with duration: a later execution within it updates the alert, after it writes a new one; events read again count once', async () => {
    const r = await rule('group_by = ["host.name"]\nduration = { value = 30, unit = "m" }');
    const sink = new MemoryAlertSink();
    await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h1')]);
    const c2 = await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h1'), beacon('c', T0 + 20 * MIN, 'h1')], T0 + 25 * MIN);
    assert.equal(c2.alertsWritten, 0);
    assert.equal(c2.duplicates, 2);
    assert.equal(c2.suppressed, 1);
    assert.equal(sink.alerts.length, 1);
    assert.equal(docs(sink)[0]['kibana.alert.suppression.docs_count'], 2);
    assert.equal(docs(sink)[0]['kibana.alert.suppression.end'], new Date(T0 + 20 * MIN).toISOString());
    assert.equal(docs(sink)[0]['kibana.alert.last_detected'], new Date(T0 + 25 * MIN).toISOString());
    const c3 = await run(r, sink, [beacon('c', T0 + 20 * MIN, 'h1'), beacon('d', T0 + 31 * MIN, 'h1'), beacon('e', T0 + 32 * MIN, 'h1')], T0 + 35 * MIN);
    assert.equal(c3.alertsWritten, 1);
    assert.deepEqual(docs(sink).map((d) => [d['kibana.alert.suppression.start'], d['kibana.alert.suppression.docs_count']]),
      [[new Date(T0).toISOString(), 2], [new Date(T0 + 31 * MIN).toISOString(), 1]]);
  });

  test('a backfill of older events neither folds into nor is counted by the live alert of the group', async () => {
    const r = await rule('group_by = ["host.name"]\nduration = { value = 30, unit = "m" }');
    const sink = new MemoryAlertSink();
    await run(r, sink, [beacon('live1', T0 + 60 * MIN, 'h1'), beacon('live2', T0 + 61 * MIN, 'h1')], T0 + 65 * MIN);
    const back = await run(r, sink, [beacon('old1', T0, 'h1'), beacon('old2', T0 + MIN, 'h1')], T0 + 70 * MIN);
    assert.equal(back.duplicates, 0);
    assert.equal(back.alertsWritten, 1);
    assert.deepEqual(docs(sink).map((d) => [d['kibana.alert.suppression.start'], d['kibana.alert.suppression.docs_count']]),
      [[new Date(T0 + 60 * MIN).toISOString(), 1], [new Date(T0).toISOString(), 1]]);
    // The backfill again: counted once.
    const again = await run(r, sink, [beacon('old1', T0, 'h1'), beacon('old2', T0 + MIN, 'h1')], T0 + 75 * MIN);
    assert.equal(again.duplicates, 2);
    assert.equal(sink.alerts.length, 2);
  });

  test('a closed alert suppresses nothing', async () => {
    const r = await rule('group_by = ["host.name"]\nduration = { value = 1, unit = "h" }');
    const sink = new MemoryAlertSink();
    await run(r, sink, [beacon('a', T0, 'h1')]);
    sink.alerts[0] = { id: sink.alerts[0].id, doc: { ...sink.alerts[0].doc, 'kibana.alert.workflow_status': 'closed' } };
    const c2 = await run(r, sink, [beacon('b', T0 + MIN, 'h1')]);
    assert.equal(c2.alertsWritten, 1);
  });

  test('max_signals caps new alerts, not folding: groups over the cap are left for the next execution', async () => {
    const r = await rule('group_by = ["host.name"]\nduration = { value = 1, unit = "h" }', { maxSignals: 1 });
    const sink = new MemoryAlertSink();
    const c1 = await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h2'), beacon('c', T0 + 2000, 'h1')]);
    assert.equal(c1.alertsWritten, 1);
    assert.equal(c1.truncated, 1);
    const c2 = await run(r, sink, [beacon('a', T0, 'h1'), beacon('b', T0 + 1000, 'h2'), beacon('c', T0 + 2000, 'h1'), beacon('d', T0 + 3000, 'h1')]);
    assert.equal(c2.alertsWritten, 1, 'h2 now');
    assert.equal(c2.suppressed, 1, 'd into h1');
    assert.deepEqual(docs(sink).map((d) => [d['kibana.alert.suppression.terms'][0].value, d['kibana.alert.suppression.docs_count']]), [['h1', 2], ['h2', 0]]);
  });
});

describe('folding sequences and aggregated matches', () => {
  test('an EQL sequence: groups by the values its events share; a field they differ on is null', async () => {
    const r = await suppressedRule({
      ruleId: 's-seq', indices: ['events'], suppression: 'group_by = ["host.name", "user.name"]',
      query: 'sequence by host.name [process where process.name == "a.exe"] [process where process.name == "b.exe"]',
    });
    const p = (id: string, ms: number, name: string, user: string) => beacon(id, ms, 'h1', { process: { name }, user: { name: user } });
    const sink = new MemoryAlertSink();
    const counts = await runRule(r, [p('a1', T0, 'a.exe', 'u1'), p('b1', T0 + 1000, 'b.exe', 'u1'), p('a2', T0 + 2000, 'a.exe', 'u1'), p('b2', T0 + 3000, 'b.exe', 'u1'),
      p('a3', T0 + 4000, 'a.exe', 'u1'), p('b3', T0 + 5000, 'b.exe', 'u2')], sink, { now: new Date(T0 + MIN) });
    assert.equal(counts.matches, 3);
    assert.equal(counts.alertsWritten, 2);
    assert.deepEqual(sink.alerts.map((a) => [(a.doc as any)['kibana.alert.suppression.terms'], (a.doc as any)['kibana.alert.suppression.docs_count']]), [
      [[{ field: 'host.name', value: 'h1' }, { field: 'user.name', value: 'u1' }], 1],
      [[{ field: 'host.name', value: 'h1' }, { field: 'user.name', value: null }], 0],
    ]);
    assert.equal((sink.alerts[0].doc as any)['kibana.alert.suppression.end'], new Date(T0 + 3000).toISOString());
  });

  test('an aggregated (threshold) match: its bucket terms are the group, across executions within the duration', async () => {
    const base = await suppressedRule({ ruleId: 's-agg', indices: ['events'], suppression: 'group_by = ["host.name"]' });
    const compiled = { ...base.compiled, plan: 'aggregated', aggregate: async () => [] } as unknown as CompiledQuery;
    const r = { ...base, type: 'threshold' as const, compiled, alertSuppression: { groupBy: [], durationMs: 60 * MIN, missingFields: 'suppress' as const } };
    const bucket = (key: string, ms: number, ip: string): RuleMatch => ({ events: [], joinKeys: [], entity: { key, timestamp: ms, fields: { terms: [{ field: 'source.ip', value: ip }], count: 5 } } });
    const sink = new MemoryAlertSink();
    const once = async (matches: RuleMatch[], now: number) => {
      const run = new RuleRun(r, sink, { now: new Date(now) });
      run.addMatches(matches);
      return run.finish();
    };
    await once([bucket('w1-a', T0, '10.0.0.1'), bucket('w1-b', T0, '10.0.0.2')], T0 + 5 * MIN);
    const c2 = await once([bucket('w2-a', T0 + 10 * MIN, '10.0.0.1')], T0 + 15 * MIN);
    assert.equal(c2.alertsWritten, 0);
    assert.equal(c2.suppressed, 1);
    assert.deepEqual(sink.alerts.map((a) => (a.doc as any)['kibana.alert.suppression.docs_count']), [1, 0]);
  });
});

describe('the corpus', () => {
  test("every live rule of Elastic's detection-rules with alert_suppression has a valid one", async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const { parse } = await import('smol-toml');
    const { alertSuppressionSchema, buildAlertSuppression } = await import('../../src/rules/suppression.js');
    const root = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;
    const files: string[] = [];
    for (const dir of ['rules', 'rules_building_block']) {
      for (const f of await readdir(join(root, dir), { recursive: true })) if (f.endsWith('.toml') && !f.includes('_deprecated')) files.push(join(root, dir, f));
    }
    const byType = new Map<string, number>();
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      if (!text.includes('alert_suppression')) continue;
      const rule = (parse(text) as { rule: { type: string; alert_suppression?: unknown } }).rule;
      if (rule.alert_suppression === undefined) continue;
      const s = buildAlertSuppression(file, rule.type, alertSuppressionSchema.parse(rule.alert_suppression), () => ({}));
      assert.ok(s.groupBy.length >= 1 && s.durationMs !== undefined, file);
      byType.set(rule.type, (byType.get(rule.type) ?? 0) + 1);
    }
    // As counted in the corpus: 6 query rules (and 17 ES|QL ones, a language Lookout does not run yet).
    assert.equal(byType.get('query'), 6);
  });
});
