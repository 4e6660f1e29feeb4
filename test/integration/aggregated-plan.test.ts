/**
 * The aggregated plan kind (rules/language.ts): a query that finds its matches with an
 * aggregation on the server, without an event stream, goes through the same alert pipeline as a
 * streamed rule (alert id from the match's entity, dedup across overlapping executions, the
 * max_signals cap). The query here is a test stand-in (a terms aggregation over host.name, a
 * bucket a match at three events or more), not a threshold rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AggregatedMatch, AggregatedQuery, AggregateContext } from '../../src/rules/language.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';

const MIN = 60_000;

function hostCounts(minCount: number): AggregatedQuery {
  return {
    language: 'kuery', kind: 'test-aggregation', plan: 'aggregated',
    fields: ['host.name'], namedFields: new Map([['host.name', ['host.name']]]),
    readBackMs: 0, overlapMs: 0,
    alert: { category: 'Test Aggregation Rule', noun: 'bucket', grouped: false },
    async aggregate(ctx: AggregateContext): Promise<AggregatedMatch[]> {
      const res = await ctx.client.search({
        index: [...ctx.indices], size: 0,
        query: { range: { [ctx.timestampField]: { gte: ctx.from, lt: ctx.to, format: 'epoch_millis' } } },
        aggs: { hosts: { terms: { field: 'host.name', min_doc_count: minCount, size: 100 }, aggs: { first: { min: { field: ctx.timestampField } } } } },
      });
      const buckets = (res.aggregations as { hosts: { buckets: { key: string; doc_count: number; first: { value: number } }[] } }).hosts.buckets;
      return buckets.map((b) => ({
        events: [], joinKeys: [b.key],
        entity: { key: JSON.stringify([b.key]), fields: { terms: [{ field: 'host.name', value: b.key }], count: b.doc_count }, timestamp: b.first.value },
      }));
    },
  };
}

describe('aggregated plan on the real server', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('bucket matches become alerts with the bucket as their id, capped and deduplicated like streamed ones', async () => {
    const index = `${env.prefix}-events-agg`;
    const now = Date.parse('2026-11-25T12:00:00Z');
    // h1: 4 events, h2: 3, h3: 5 (all meet the threshold of 3), h4: 1 (does not).
    const perHost: Record<string, number> = { h1: 4, h2: 3, h3: 5, h4: 1 };
    const ops = Object.entries(perHost).flatMap(([host, n]) => Array.from({ length: n }, (_, i) => [
      { create: { _index: index } },
      { '@timestamp': new Date(now - 8 * MIN + i * 1000).toISOString(), host: { name: host }, event: { category: ['process'] } },
    ])).flat();
    await env.client.bulk({ operations: ops, refresh: true });
    const base = await shippedRule({ indices: [index] });
    const rule = { ...base, ruleId: 'aggregated-seam', type: 'threshold' as const, language: 'kuery' as const, compiled: hostCounts(3), maxSignals: 2 };

    const r1 = await executeRule(env.deps, rule, { start: now - 9 * MIN, end: now }, 'scheduled');
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.matches, 3);
    assert.equal(r1.record.alertsWritten, 2, 'max_signals caps the new alerts');
    assert.equal(r1.record.truncated, true);
    assert.equal(r1.record.eventsRead, 0, 'no event stream is read');

    // An overlapping execution: the two alerted buckets are duplicates, the third is written.
    const r2 = await executeRule(env.deps, rule, { start: now - 9 * MIN, end: now + MIN }, 'scheduled');
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.alertsWritten, 1);
    assert.equal(r2.record.duplicatesSkipped, 2);

    const alerts = await alertsIn(env.client, env.alertsIndex);
    assert.deepEqual(alerts.map((a) => a.lookout.join_keys).sort(), [['h1'], ['h2'], ['h3']]);
    const h3 = alerts.find((a) => a.lookout.join_keys[0] === 'h3')!;
    assert.deepEqual(h3.lookout.entity, { terms: [{ field: 'host.name', value: 'h3' }], count: 5 });
    assert.equal(h3['kibana.alert.original_time'], new Date(now - 8 * MIN).toISOString());
    assert.equal(h3['kibana.alert.rule.category'], 'Test Aggregation Rule');
    assert.equal(h3['kibana.alert.rule.type'], 'threshold');
    assert.equal(h3['kibana.alert.rule.rule_type_id'], 'siem.thresholdRule');
    assert.equal(h3['kibana.alert.rule.language'], 'kuery');
    assert.match(h3['kibana.alert.reason'], /^bucket with 0 event\(s\)/);
    assert.deepEqual(h3['kibana.alert.ancestors'], []);
  });
});
