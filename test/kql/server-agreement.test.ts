/**
 * Property, on the real server: for random KQL over keyword, long, double, ip, date, boolean and
 * nested fields and random documents (arrays, missing fields, nulls, numbers as strings, dates as epoch
 * milliseconds or with offsets), the in-memory verdict equals the server's answer to the
 * translated query, for every document. The documents go into one index with an explicit
 * mapping; the queries use only what the evaluator says is exact (checked: `approximate` is
 * empty), so a disagreement is a bug on one side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Client } from '@elastic/elasticsearch';
import { compileKql } from '../../src/kql/compile.js';
import { fetchFieldTypes, type FieldTypes } from '../../src/search/field-caps.js';
import { deleteIndices } from '../../src/search/indices.js';
import { testClient, uniqueName } from '../helpers/es.js';
import * as table from '../helpers/kql-table.js';

const MAPPING = {
  dynamic: 'strict',
  properties: {
    id: { type: 'keyword' },
    k: { type: 'keyword' },
    n: { type: 'long' },
    d: { type: 'double' },
    ip: { type: 'ip' },
    ts: { type: 'date' },
    b: { type: 'boolean' },
    items: { type: 'nested', properties: { name: { type: 'keyword' }, size: { type: 'long' } } },
  },
} as const;

const KEYWORDS = ['a', 'ab', 'abc', 'B', 'b*c', 'a b', 'x-1', 'x.1', '', 'é', 'a?c', 'a\\b', 'a:b', 'AND', 'or', '10', 'not x', '"q"', 'true', 'null'];
const LONGS = [-5, -1, 0, 1, 2, 3, 4, 1000, -1000];
const DOUBLES = [0.5, 1.25, -2.5, 3, 0, 1e10, 2.75];
const IPS = ['10.0.0.1', '10.1.2.3', '192.168.1.1', '::1', '2001:db8::1', '::ffff:10.0.0.2', '10.255.255.255', '0.0.0.0'];
const DATES: (string | number)[] = [
  '2024-05-14T10:00:00.000Z', '2024-05-14T00:00:00Z', '2024-05-15', '2023-12-31T23:59:59.999Z', '2024-02-29T12:00:00+02:00',
  Date.parse('2024-05-14T23:59:59.999Z'), Date.parse('2024-01-01T00:00:00Z'), '2024-05-13T23:00:00-01:00',
];

function oneOrMany<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | T[] | null | undefined> {
  return fc.oneof(
    { weight: 5, arbitrary: arb },
    { weight: 2, arbitrary: fc.array(arb, { minLength: 0, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constant(undefined) },
  );
}

const docArb = fc.record({
  k: oneOrMany(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...KEYWORDS) }, { weight: 1, arbitrary: fc.constantFrom(10, 1.5) })),
  n: oneOrMany(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...LONGS) }, { weight: 1, arbitrary: fc.constantFrom('3', '-1', 2.7) })),
  d: oneOrMany(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...DOUBLES) }, { weight: 1, arbitrary: fc.constant('0.5') })),
  ip: oneOrMany(fc.constantFrom(...IPS)),
  ts: oneOrMany(fc.constantFrom(...DATES)),
  b: oneOrMany(fc.constantFrom<boolean | string>(true, false, 'true', 'false', '')),
  items: fc.option(fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c'), size: fc.constantFrom(1, 2, 3, 5) }), { maxLength: 3 }), { nil: undefined }),
});

/** A value as KQL text: quoted, or unquoted with its special characters escaped when it can be. */
function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function unquoted(v: string): string | null {
  if (v === '' || /\s/.test(v) || ['true', 'false', 'null'].includes(v)) return null;
  return v.replace(/[\\():<>"*{}]/g, '\\$&');
}

function literal(v: string, preferQuoted: boolean): string {
  const u = unquoted(v);
  return preferQuoted || u === null ? quote(v) : u;
}

const op = fc.constantFrom('<', '<=', '>', '>=');

const keywordLeaf: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYWORDS, 'zz'), fc.boolean()).map(([v, q]) => `k:${literal(v, q)}`),
  fc.constant('k:*'),
  fc.constantFrom('k:true', 'k:false'), // Kibana sends the boolean; a keyword field takes it as "true"
  // wildcard patterns built from fragments of the pool (escaped; `?` stays literal)
  fc.tuple(fc.constantFrom('a', 'b', 'x', 'a?', '.1', 'b\\*', '1', 'é', 'a\\:'), fc.constantFrom('pre', 'suf', 'mid')).map(([f, where]) =>
    where === 'pre' ? `k:${f}*` : where === 'suf' ? `k:*${f}` : `k:*${f}*`),
  fc.tuple(op, fc.constantFrom('a', 'ab', 'B', 'x', '10', 'é')).map(([o, v]) => `k ${o} ${literal(v, false)}`),
);

const longLeaf = fc.oneof(
  fc.constantFrom(...LONGS, 7, '4.0', '2.5').map((v) => `n:${v}`),
  fc.constant('n:*'),
  fc.tuple(op, fc.constantFrom('-1', '0', '2', '2.5', '-1.5', '1000', '3')).map(([o, v]) => `n ${o} ${v}`),
);

const doubleLeaf = fc.oneof(
  fc.constantFrom(...DOUBLES, 2).map((v) => `d:${v}`),
  fc.constant('d:*'),
  fc.tuple(op, fc.constantFrom('0', '0.5', '1.3', '-2.5', '3', '1e10')).map(([o, v]) => `d ${o} ${v}`),
);

const ipLeaf = fc.oneof(
  fc.constantFrom('10.0.0.1', '10.0.0.0/8', '10.1.2.0/24', '192.168.0.0/16', '"::1"', '"2001:db8::/32"', '"::ffff:10.0.0.2"', '10.0.0.2', '0.0.0.0/0').map((v) => `ip:${v}`),
  fc.constant('ip:*'),
  fc.tuple(op, fc.constantFrom('10.0.0.1', '10.1.2.3', '"::1"', '192.168.1.1', '0.0.0.0')).map(([o, v]) => `ip ${o} ${v}`),
);

const dateLeaf = fc.oneof(
  fc.constantFrom('2024-05-14', '2024-05', '2024', '"2024-05-14T10:00:00Z"', '"2024-02-29T10:00:00Z"', '2024-05-15', '"2024-05-14T10:00:00.000+00:00"').map((v) => `ts:${v}`),
  fc.constant('ts:*'),
  fc.tuple(op, fc.constantFrom(
    '2024-05-14', '"2024-05-14T10:00:00Z"', '2024-05', '2024', 'now', 'now-1000d', 'now-100000d', '2024-05-14||+1d', '2024-05-14||/M',
    '"2024-05-14T10:00:00Z||-1h/h"', '1715644800000', '2023-12-31', 'now/y',
  )).map(([o, v]) => `ts ${o} ${v}`),
);

const nestedLeaf = fc.oneof(
  fc.tuple(fc.constantFrom('a', 'b', 'c'), op, fc.constantFrom('1', '2', '3')).map(([n, o, s]) => `items:{ name:${n} and size ${o} ${s} }`),
  fc.constantFrom('a', 'b').map((n) => `items:{ name:${n} }`),
  fc.constantFrom('items:{ not name:a }', 'items:{ size:(1 or 5) }', 'items.name:a'),
);

const booleanLeaf = fc.constantFrom('b:true', 'b:false', 'b:"true"', 'b:"false"', 'b:*');

const leaf = fc.oneof(keywordLeaf, longLeaf, doubleLeaf, ipLeaf, dateLeaf, booleanLeaf, nestedLeaf);

const valueList = fc.tuple(fc.constantFrom('a', 'ab', 'B', '"a b"', 'x-1', '10'), fc.constantFrom('a', 'abc', '"not x"', 'zz'), fc.constantFrom('or', 'and'), fc.boolean())
  .map(([x, y, join, neg]) => `k:(${x} ${join} ${neg ? 'not ' : ''}${y})`);

const { query } = fc.letrec<{ query: string }>((tie) => ({
  query: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    valueList,
    fc.tuple(tie('query'), tie('query')).map(([a, b]) => `(${a}) and (${b})`),
    fc.tuple(tie('query'), tie('query')).map(([a, b]) => `${a} or ${b}`),
    tie('query').map((a) => `not (${a})`),
  ),
}));

describe('KQL: the in-memory verdict equals the server\'s (property, real server)', () => {
  let client: Client;
  let index: string;
  let docs: Record<string, unknown>[];
  let types: FieldTypes;

  before(async () => {
    client = testClient();
    index = uniqueName('kql-agreement');
    await client.indices.create({ index, mappings: MAPPING as never, settings: { number_of_shards: 1, number_of_replicas: 0 } });
    docs = fc.sample(docArb, { numRuns: 150, seed: 20261126 }).map((d, i) => {
      const doc: Record<string, unknown> = { id: String(i) };
      for (const [key, value] of Object.entries(d)) if (value !== undefined) doc[key] = value;
      return doc;
    });
    const res = await client.bulk({ refresh: true, operations: docs.flatMap((d) => [{ index: { _index: index, _id: d.id as string } }, d]) });
    assert.equal(res.errors, false, JSON.stringify(res.items.find((i) => i.index?.error)));
    types = await fetchFieldTypes(client, [index], ['k', 'n', 'd', 'ip', 'ts', 'b', 'items.name', 'items.size']);
  });

  after(async () => {
    if (client) {
      await deleteIndices(client, [index]).catch(() => undefined);
      await client.close();
    }
  });

  test('for random queries and documents, every verdict agrees', async () => {
    let matchedSome = 0;
    let missedSome = 0;
    await fc.assert(
      fc.asyncProperty(query, async (text) => {
        const compiled = compileKql(text);
        const matcher = compiled.matcher({ types });
        assert.deepEqual(matcher.approximate, [], `${text}: the generator makes only exact queries`);
        const dsl = compiled.toDsl(types);
        const res = await client.search({ index, size: docs.length, query: dsl as never, _source: false });
        const hits = new Set(res.hits.hits.map((h) => h._id));
        const wrong = docs.filter((d) => matcher.matches(d) !== hits.has(d.id as string));
        assert.deepEqual(wrong.map((d) => ({ doc: d, server: hits.has(d.id as string) })), [], `${text}\nDSL: ${JSON.stringify(dsl)}`);
        if (hits.size > 0) matchedSome++;
        if (hits.size < docs.length) missedSome++;
      }),
      // A fixed seed keeps runs repeatable; LOOKOUT_PROPERTY_SEED and _RUNS explore further.
      { verbose: 1, numRuns: Number(process.env.LOOKOUT_PROPERTY_RUNS ?? 100), seed: Number(process.env.LOOKOUT_PROPERTY_SEED ?? 20261127) },
    );
    assert.ok(matchedSome > 30 && missedSome > 30, `the queries split the documents (${matchedSome} matched some, ${missedSome} missed some)`);
  });
});

describe('KQL: the verdict table holds on the real server', () => {
  let client: Client;
  let index: string;
  let types: FieldTypes;

  before(async () => {
    client = testClient();
    index = uniqueName('kql-table');
    // The table's types, as a mapping (`mixed`, a conflict across indices, cannot be in one).
    await client.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        dynamic: 'strict',
        properties: {
          '@timestamp': { type: 'date' },
          host: { properties: { name: { type: 'keyword' } } },
          process: { properties: { name: { type: 'keyword' }, pid: { type: 'long' }, args: { type: 'keyword' }, parent: { properties: { name: { type: 'keyword' } } } } },
          ratio: { type: 'double' },
          f32: { type: 'float' },
          message: { type: 'text' },
          source: { properties: { ip: { type: 'ip' } } },
          dns: { properties: { resolved: { type: 'boolean' } } },
          items: { type: 'nested', properties: { name: { type: 'keyword' }, size: { type: 'long' } } },
        },
      } as never,
    });
    await client.index({ index, id: 'doc', refresh: true, document: table.doc });
    const fields = [...table.types.keys()].filter((f) => f !== 'mixed');
    types = await fetchFieldTypes(client, [index], fields);
  });

  after(async () => {
    if (client) {
      await deleteIndices(client, [index]).catch(() => undefined);
      await client.close();
    }
  });

  test('the mapping gives the table\'s types', () => {
    for (const [field, t] of table.types) if (field !== 'mixed') assert.deepEqual([...(types.get(field) ?? [])], [...t], field);
  });

  // Rows with `now` are left out: the table fixes the clock, the server reads its own.
  for (const [source, expected] of table.verdicts.filter(([q]) => !q.includes('now'))) {
    test(source || '(empty)', async () => {
      const compiled = compileKql(source);
      const why = table.refusedByServer.get(source);
      if (why !== undefined) {
        await assert.rejects(client.search({ index, query: compiled.toDsl(types) as never }), (err: { statusCode?: number }) => err.statusCode === 400, why);
        assert.equal(compiled.matcher({ types }).matches(table.doc), expected);
        assert.notDeepEqual(compiled.matcher({ types }).approximate, [], `${source}: the evaluator says it approximates`);
        return;
      }
      const res = await client.search({ index, query: compiled.toDsl(types) as never, _source: false });
      assert.equal(res.hits.hits.length === 1, expected, JSON.stringify(compiled.toDsl(types)));
      assert.equal(compiled.matcher({ types }).matches(table.doc), expected);
    });
  }
});
