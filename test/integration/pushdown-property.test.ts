/**
 * Property: the pushed-down query never drops an event the evaluator accepts. Random events
 * (case variants, arrays, missing fields, numbers as strings) are indexed in the real server;
 * random conditions are evaluated in memory and pushed down; every accepted event must be
 * among the hits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { compileEql } from '../../src/eql/compile.js';
import { fetchFieldTypes } from '../../src/search/field-caps.js';
import { unionOf, widen } from '../../src/search/union.js';
import { Pushdown } from '../../src/search/pushdown.js';
import { eqlPushdown } from '../../src/eql/pushdown.js';
import { decidableFields, decideOnValues, valuesAggs, valuesOf } from '../../src/search/window-values.js';
import { testEnv, type TestEnv } from '../helpers/es.js';
import { condition, makeEvents } from '../helpers/eql-arbitrary.js';

describe('pushdown is a superset of evaluation (property, real server)', () => {
  let env: TestEnv;
  let index: string;
  let events: Record<string, unknown>[];
  before(async () => {
    env = await testEnv();
    index = `${env.prefix}-events-prop`;
    events = makeEvents(400);
    await env.client.bulk({ refresh: true, operations: events.flatMap((e) => [{ index: { _index: index, _id: String(e.id) } }, e]) });
  });
  after(async () => env?.close());

  test('for random conditions, every event the evaluator accepts is among the hits', async () => {
    const types = await fetchFieldTypes(env.client, [index], ['s', 'k', 'n', 'nested.t', 'missing', 'event.category']);
    let pushedSomething = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('process', 'network', 'any'), condition, async (category, cond) => {
        const q = compileEql(`${category} where ${cond}`);
        const query = eqlPushdown(new Pushdown(types), q);
        if (query) pushedSomething++;
        const res = await env.client.search({ index, size: 1000, query: (query ?? { match_all: {} }) as never, _source: false });
        const hits = new Set(res.hits.hits.map((h) => h._id));
        if (q.kind !== 'event') throw new Error('expected an event query');
        for (const e of events) {
          if (q.stage.matches(e)) assert.ok(hits.has(String(e.id)), `${category} where ${cond}: event ${JSON.stringify(e)} accepted but not selected by ${JSON.stringify(query)}`);
        }
      }),
      // A fixed seed keeps CI repeatable; LOOKOUT_PROPERTY_SEED and _RUNS explore further.
      { numRuns: Number(process.env.LOOKOUT_PROPERTY_RUNS ?? 300), seed: Number(process.env.LOOKOUT_PROPERTY_SEED ?? 20261125) },
    );
    assert.ok(pushedSomething > 200, `most conditions push something down (${pushedSomething})`);
  });

  test('for random conditions, the widened query (a cheaper superset) selects every hit of the query', async () => {
    const types = await fetchFieldTypes(env.client, [index], ['s', 'k', 'n', 'nested.t', 'missing', 'event.category']);
    let narrower = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('process', 'network', 'any'), condition, condition, async (category, a, b) => {
        // Two rules' queries in a union, as a shared read builds them.
        const queries = [a, b].map((cond) => eqlPushdown(new Pushdown(types), compileEql(`${category} where ${cond}`)));
        const query = unionOf(queries);
        if (query === null) return;
        const wide = widen(query);
        const ids = async (q: unknown) => new Set((await env.client.search({ index, size: 1000, query: (q ?? { match_all: {} }) as never, _source: false })).hits.hits.map((h) => h._id));
        const [hits, wider] = await Promise.all([ids(query), ids(wide)]);
        for (const id of hits) assert.ok(wider.has(id), `${JSON.stringify(query)} selects ${id}, its widened form ${JSON.stringify(wide)} does not`);
        if (wider.size > hits.size) narrower++;
      }),
      { numRuns: Number(process.env.LOOKOUT_PROPERTY_RUNS ?? 300), seed: Number(process.env.LOOKOUT_PROPERTY_SEED ?? 20261126) },
    );
    assert.ok(narrower > 20, `widening leaves clauses out in many cases (${narrower})`);
  });

  test('for random conditions, deciding the costly clauses on the indexed values selects exactly the query\'s hits', async () => {
    const types = await fetchFieldTypes(env.client, [index], ['s', 'k', 'n', 'nested.t', 'missing', 'event.category']);
    let decided = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('process', 'network', 'any'), condition, condition, async (category, a, b) => {
        const query = unionOf([a, b].map((cond) => eqlPushdown(new Pushdown(types), compileEql(`${category} where ${cond}`))));
        if (query === null) return;
        const fields = decidableFields(query);
        if (fields.length === 0) return;
        // The values of the documents the reader would aggregate over: those of the widened query.
        const agg = await env.client.search({ index, size: 0, query: (widen(query) ?? { match_all: {} }) as never, aggs: valuesAggs(fields) as never });
        const { query: narrowed, left } = decideOnValues(query, valuesOf(fields, agg.aggregations as Record<string, unknown>));
        if (left > 0) return;
        decided++;
        const ids = async (q: unknown) => [...new Set((await env.client.search({ index, size: 1000, query: q as never, _source: false })).hits.hits.map((h) => h._id))].sort();
        const [hits, got] = await Promise.all([ids(query), ids({ bool: { filter: [widen(query) ?? { match_all: {} }, narrowed] } })]);
        assert.deepEqual(got, hits, `${JSON.stringify(query)} decided on values as ${JSON.stringify(narrowed)}`);
      }),
      { numRuns: Number(process.env.LOOKOUT_PROPERTY_RUNS ?? 300), seed: Number(process.env.LOOKOUT_PROPERTY_SEED ?? 20261127) },
    );
    assert.ok(decided > 50, `many unions have costly clauses to decide (${decided})`);
  });
});
