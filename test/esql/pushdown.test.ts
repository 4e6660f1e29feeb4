import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Client } from '@elastic/elasticsearch';
import { compileEsql } from '../../src/esql/compile.js';
import { pushdown } from '../../src/esql/pushdown.js';
import { fetchFieldTypes, type FieldTypes } from '../../src/search/field-caps.js';
import { deleteIndices } from '../../src/search/indices.js';
import { testClient, uniqueName } from '../helpers/es.js';

const TYPES: FieldTypes = new Map([
  ['k', new Set(['keyword'])],
  ['n', new Set(['long'])],
  ['@timestamp', new Set(['date'])],
  ['t', new Set(['text'])],
  ['ip', new Set(['ip'])],
  ['mixed', new Set(['keyword', 'unmapped'])],
]);

function pushed(where: string, kql?: (q: string) => Record<string, unknown> | null) {
  return pushdown(compileEsql(`FROM x | WHERE ${where} | EVAL y = 1`, { kql: () => () => true }).leadingConjuncts, TYPES, kql);
}

describe('ES|QL pushdown (translation)', () => {
  const cases: [string, unknown[], string[]][] = [
    ['k == "a"', [{ term: { k: 'a' } }], []],
    ['k IN ("a", "b")', [{ terms: { k: ['a', 'b'] } }], []],
    ['n >= 3 AND @timestamp < "2024-01-01"', [{ range: { n: { gte: 3 } } }, { range: { '@timestamp': { lt: '2024-01-01' } } }], []],
    ['3 < n', [{ range: { n: { gt: 3 } } }], []],
    ['k IS NOT NULL', [{ exists: { field: 'k' } }], []],
    ['k LIKE "a*b*"', [{ wildcard: { k: { value: 'a*b*' } } }], []],
    ['k != "a"', [{ bool: { must_not: [{ term: { k: 'a' } }] } }], []],
    ['NOT k IN ("a", "b")', [{ bool: { must_not: [{ terms: { k: ['a', 'b'] } }] } }], []],
    ['k == "a" OR n == 1', [{ bool: { should: [{ term: { k: 'a' } }, { term: { n: 1 } }], minimum_should_match: 1 } }], []],
    // no exact form: text fields, ? wildcards, a field some index does not map, numbers as strings, RLIKE, functions
    ['t == "a"', [], ['t == "a"']],
    ['k LIKE "a?"', [], ['k LIKE "a?"']],
    ['mixed == "a"', [], ['mixed == "a"']],
    ['n == "1"', [], ['n == "1"']],
    ['k RLIKE "a.*"', [], ['k RLIKE "a.*"']],
    ['TO_LOWER(k) == "a"', [], ['TO_LOWER(k) == "a"']],
    ['k == "a" OR t == "b"', [], ['k == "a" OR t == "b"']],
    // NOT over a partial translation would drop matches: not pushed
    ['NOT (k == "a" AND t == "b")', [], ['NOT (k == "a" AND t == "b")']],
    ['(k == "a" AND t == "b")', [{ term: { k: 'a' } }], ['t == "b"']],
    ['k == "a" OR (n == 1 AND t == "b")', [{ bool: { should: [{ term: { k: 'a' } }, { bool: { filter: [{ term: { n: 1 } }] } }], minimum_should_match: 1 } }], []],
  ];
  for (const [where, filters, inMemory] of cases) {
    test(where, () => {
      const r = pushed(where);
      assert.deepEqual(r.filters, filters);
      assert.deepEqual(r.inMemory, inMemory);
    });
  }

  test('KQL goes through the injected translator, and stays in memory without one', () => {
    const q = 'KQL("k: a") AND n > 1';
    assert.deepEqual(pushed(q, (text) => ({ query_string: { query: text } })).filters, [{ query_string: { query: 'k: a' } }, { range: { n: { gt: 1 } } }]);
    assert.deepEqual(pushed(q).inMemory, ['KQL("k: a")']);
  });

  test('leading conjuncts: WHEREs before STATS, MV_EXPAND or LIMIT, on columns no EVAL, GROK, DISSECT or RENAME made', () => {
    const q = compileEsql(`FROM x | WHERE k == "a" | WHERE n > 1 | EVAL z = 1, k2 = k | GROK m "%{WORD:w}" | RENAME t AS t2
      | WHERE k == "b" AND z == 1 AND k2 == "c" AND w == "d" AND t2 == "e" AND t == "f" | SORT n | KEEP k, n
      | WHERE n < 9 | MV_EXPAND k | WHERE k == "g"`);
    assert.deepEqual(q.leadingConjuncts.map((c) => c.text), ['k == "a"', 'n > 1', 'k == "b"', 'n < 9']);
    assert.deepEqual(compileEsql('FROM x | LIMIT 5 | WHERE k == "a"').leadingConjuncts, []);
    assert.deepEqual(compileEsql('FROM x | STATS c = COUNT(*) BY k | WHERE k == "a"').leadingConjuncts, []);
  });
});

/**
 * On the real server: for random WHERE conditions over random events, the pushed-down filters
 * select every event the in-memory WHERE keeps.
 */
describe('ES|QL pushdown selects a superset of the in-memory WHERE (real Elasticsearch)', () => {
  let client: Client;
  const index = uniqueName('esql-pushdown');
  const KS = ['a', 'b', 'ab', 'ba', 'a*'];
  const docs: Record<string, unknown>[] = [];

  before(async () => {
    client = testClient();
    await client.indices.create({
      index,
      mappings: { properties: { k: { type: 'keyword' }, m: { type: 'keyword' }, n: { type: 'long' }, '@timestamp': { type: 'date' }, t: { type: 'text' } } },
    } as never);
    const rnd = fc.sample(fc.record({
      k: fc.option(fc.constantFrom(...KS), { nil: undefined }),
      m: fc.option(fc.array(fc.constantFrom(...KS), { minLength: 0, maxLength: 3 }), { nil: undefined }),
      n: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
      t: fc.option(fc.constantFrom('a b', 'B c', 'x'), { nil: undefined }),
      day: fc.integer({ min: 1, max: 5 }),
    }, { requiredKeys: ['day'] }), { numRuns: 150, seed: 15 });
    rnd.forEach((r, i) => {
      const doc: Record<string, unknown> = { '@timestamp': `2024-01-0${r.day}T00:00:00Z` };
      for (const key of ['k', 'm', 'n', 't'] as const) if (r[key] !== undefined) doc[key] = r[key];
      docs.push({ id: `d${i}`, ...doc });
    });
    await client.bulk({ refresh: true, operations: docs.flatMap(({ id, ...d }) => [{ index: { _index: index, _id: id } }, d]) } as never);
  });

  after(async () => {
    await deleteIndices(client, [index]);
    await client.close();
  });

  const leaf = fc.oneof(
    fc.constantFrom('k', 'm').chain((f) => fc.constantFrom(...KS).map((v) => `${f} == "${v}"`)),
    fc.constantFrom('k', 'm').chain((f) => fc.constantFrom(...KS).map((v) => `${f} != "${v}"`)),
    fc.constantFrom('k', 'm').map((f) => `${f} IN ("a", "ab")`),
    fc.constantFrom('k', 'm', 'n', 't').map((f) => `${f} IS NOT NULL`),
    fc.constantFrom('k', 'm', 'n').map((f) => `${f} IS NULL`),
    fc.constantFrom('a*', '*b', '*a*', 'ab').map((p) => `k LIKE "${p}"`),
    fc.constantFrom('<', '<=', '>', '>=', '==').chain((op) => fc.integer({ min: -3, max: 3 }).map((v) => `n ${op} ${v}`)),
    fc.constantFrom('<', '>=').map((op) => `@timestamp ${op} "2024-01-03T00:00:00Z"`),
    fc.constant('t == "x"'),
  );
  const cond: fc.Arbitrary<string> = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, tie('and'), tie('or'), tie('not')),
    and: fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(${a} AND ${b})`),
    or: fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(${a} OR ${b})`),
    not: tie('node').map((a) => `NOT (${a})`),
  })).node as fc.Arbitrary<string>;

  test('for 200 random conditions', async () => {
    const types = await fetchFieldTypes(client, [index], ['k', 'm', 'n', 't', '@timestamp']);
    // Some runs put an EVAL that overwrites k before the WHERE: conjuncts on k must then stay in memory.
    await fc.assert(fc.asyncProperty(cond, fc.boolean(), async (where, evalFirst) => {
      const q = compileEsql(`FROM ${index} METADATA _id ${evalFirst ? '| EVAL k = CONCAT(k, "b") ' : ''}| WHERE ${where} | KEEP _id`);
      const run = q.start({ defaultLimit: Infinity });
      const kept = new Set<string>();
      for (const { id, ...source } of docs) for (const row of run.push({ _source: source, _id: id as string })) kept.add(String(row.get('_id')));
      const { filters } = pushdown(q.leadingConjuncts, types);
      const res = await client.search({ index, size: 1000, _source: false, query: { bool: { filter: filters } } } as never);
      const hits = new Set((res.hits.hits as { _id: string }[]).map((h) => h._id));
      const missing = [...kept].filter((id) => !hits.has(id));
      assert.deepEqual(missing, [], `${evalFirst ? 'EVAL k, ' : ''}${where}: pushed ${JSON.stringify(filters)} misses events the WHERE keeps`);
    }), { numRuns: 200, seed: 1515 });
  });
});
