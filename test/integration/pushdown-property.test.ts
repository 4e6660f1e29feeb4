/**
 * Property: the pushed-down query never drops an event the evaluator accepts. Random events
 * (case variants, arrays, missing fields, numbers as strings) are indexed in the real server;
 * random conditions are evaluated in memory and pushed down; every accepted event must be
 * among the hits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { rng } from '../../src/demo/generate.js';
import { compileEql } from '../../src/eql/compile.js';
import { fetchFieldTypes } from '../../src/search/field-caps.js';
import { unionOf, widen } from '../../src/search/union.js';
import { Pushdown } from '../../src/search/pushdown.js';
import { testEnv, type TestEnv } from '../helpers/es.js';

const WORDS = ['foo', 'Foo', 'FOO', 'bar', 'Bar', 'foobar', 'fo', 'x*y', 'a?c', 'abc', 'Straße', 'STRASSE', 'C:\\Windows\\cmd.exe', 'c:\\windows\\CMD.EXE', ''];
const NUMS = [0, 1, 4, 5, 10, -3, 5985];

function makeEvents(n: number): Record<string, unknown>[] {
  const r = rng(99);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const e: Record<string, unknown> = { '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), id: i, event: { category: [pick(['process', 'network'])] } };
    const roll = r();
    if (roll < 0.7) e.s = pick(WORDS);
    else if (roll < 0.85) e.s = [pick(WORDS), pick(WORDS)];
    if (r() < 0.8) e.n = r() < 0.2 ? String(pick(NUMS)) : pick(NUMS);
    if (r() < 0.7) e.k = pick(WORDS);
    if (r() < 0.5) e.nested = { t: pick(WORDS) };
    return e;
  });
}

const str = fc.constantFrom(...WORDS.map((w) => JSON.stringify(w)));
const pattern = fc.constantFrom('"foo*"', '"*bar"', '"f?o"', '"*O*"', '"c:\\\\windows\\\\*.exe"', '"*"', '"STRA*"', '"x\\\\*y"', '"a?c"', '"?"');
const num = fc.constantFrom(...NUMS.map(String));
const strField = fc.constantFrom('s', 'k', 'nested.t', 'missing');

const leaf: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(strField, fc.constantFrom('==', '!='), str).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(strField, str).map(([f, v]) => `${f} : ${v}`),
  fc.tuple(strField, pattern).map(([f, v]) => `${f} : ${v}`),
  fc.tuple(strField, fc.constantFrom('like', 'like~'), pattern).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(strField, fc.constantFrom('in', 'in~', 'not in'), fc.array(str, { minLength: 1, maxLength: 3 })).map(([f, op, vs]) => `${f} ${op} (${vs.join(', ')})`),
  fc.tuple(fc.constantFrom('==', '!=', '<', '<=', '>', '>='), num).map(([op, v]) => `n ${op} ${v}`),
  fc.tuple(fc.constantFrom('in', 'not in'), fc.array(num, { minLength: 1, maxLength: 3 })).map(([op, vs]) => `n ${op} (${vs.join(', ')})`),
  fc.constantFrom('s == null', 's != null', 'n == null', 'startsWith~(s, "fo")', 'length(s) > 2', 's regex~ "fo+"', 'true', 'false'),
);

const condition: fc.Arbitrary<string> = fc.letrec((tie) => ({
  cond: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('cond'), tie('cond')).map(([a, b]) => `(${a} and ${b})`),
    fc.tuple(tie('cond'), tie('cond')).map(([a, b]) => `(${a} or ${b})`),
    tie('cond').map((a) => `not (${a})`),
  ),
})).cond as fc.Arbitrary<string>;

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
        const query = new Pushdown(types).query(q, 'event.category');
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
        const queries = [a, b].map((cond) => new Pushdown(types).query(compileEql(`${category} where ${cond}`), 'event.category'));
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
});
