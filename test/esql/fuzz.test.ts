/**
 * Fuzzing (fast-check) the ES|QL parser, compiler and evaluator: any query text gives a compiled
 * query or one of Lookout's own errors with a position, never a crash of another kind; a
 * compiled query runs over events of any shape without throwing (bad values become null and
 * warnings, as in Elasticsearch).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileEsql } from '../../src/esql/compile.js';
import { LookoutError } from '../../src/errors.js';

const RUNS = Number(process.env.LOOKOUT_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.LOOKOUT_FUZZ_SEED ?? 7);

const tokens = fc.constantFrom(
  '|', 'WHERE', 'EVAL', 'STATS', 'BY', 'KEEP', 'DROP', 'SORT', 'DESC', 'NULLS', 'FIRST', 'LIMIT', '3', 'RENAME', 'AS', 'GROK',
  'DISSECT', 'MV_EXPAND', 'INLINE', 'a', 'b.c', 'n', '`x y`', '*', '=', '==', '!=', '<', '>=', 'AND', 'OR', 'NOT', 'LIKE', 'RLIKE',
  'IN', 'IS', 'NULL', '(', ')', ',', '"s"', '"a*"', '""".*x"""', '"%{WORD:w}"', '"%{a} %{b}"', '1', '2.5', '-1', '1 hour', 'true',
  '::', 'long', 'COUNT(', 'VALUES(', 'MAX(', 'CASE(', 'COALESCE(', 'TO_LOWER(', 'MV_FIRST(', 'DATE_TRUNC(', 'DATE_DIFF(',
  'CONCAT(', 'SPLIT(', 'MV_SLICE(', 'NOW()', '+', '/', '%', '[1, 2]', ':', '{', '}',
);

const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant('2024-01-01T00:00:00Z'));
const event = fc.record({
  a: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
  b: fc.record({ c: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })) }),
  n: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
}, { requiredKeys: [] });

test('the ES|QL compiler: a query or a LookoutError with a position, and compiled queries run over any events', () => {
  fc.assert(fc.property(fc.oneof(fc.array(tokens, { maxLength: 25 }).map((t) => `FROM x | ${t.join(' ')}`), fc.string({ maxLength: 120 })), fc.array(event, { maxLength: 4 }), (source, events) => {
    let q;
    try {
      q = compileEsql(source);
    } catch (err) {
      assert.ok(err instanceof LookoutError, `${JSON.stringify(source)} threw ${String(err)}`);
      assert.match(err.message, /\(\d+:\d+\)$/);
      return;
    }
    const run = q.start({ now: new Date('2024-05-01T00:00:00Z') });
    for (const e of events) run.push({ _source: e as Record<string, unknown> });
    run.finish();
  }), { numRuns: RUNS * 5, seed: SEED });
});

const field = fc.constantFrom('a', 'n', 'b.c', 'z');
const literal = fc.constantFrom('"s"', '"a*"', '1', '0', '-2', '2.5', 'true', 'null', '"2024-01-01T00:00:00Z"', '[1, 2]', '["x", "y"]');
const fn1 = fc.constantFrom('TO_LOWER', 'TO_UPPER', 'TO_STRING', 'TO_LONG', 'TO_DOUBLE', 'TO_INTEGER', 'TO_IP', 'LENGTH', 'TRIM', 'MV_FIRST', 'MV_LAST',
  'MV_MIN', 'MV_COUNT', 'MV_DEDUPE', 'URL_DECODE', 'TO_DATETIME', 'ABS', 'ROUND', 'MV_SUM', 'MV_MAX', 'FROM_BASE64');
const fn2 = fc.constantFrom('CONCAT', 'COALESCE', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'LOCATE', 'SPLIT', 'MV_CONCAT', 'MV_SLICE', 'MV_INTERSECTION',
  'MV_CONTAINS', 'JSON_EXTRACT', 'CIDR_MATCH', 'SUBSTRING', 'ROUND', 'MATCH');
const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof({ depthSize: 'small', withCrossShrink: true }, field, literal, tie('bin'), tie('call1'), tie('call2'), tie('pred'), tie('case')),
  bin: fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '>=', 'AND', 'OR'), tie('e')).map(([a, op, b]) => `(${a} ${op} ${b})`),
  call1: fc.tuple(fn1, tie('e')).map(([f, a]) => `${f}(${a})`),
  call2: fc.tuple(fn2, tie('e'), tie('e')).map(([f, a, b]) => (f === 'MATCH' ? `MATCH(a, ${b})` : `${f}(${a}, ${b})`)),
  pred: fc.oneof(
    tie('e').map((a) => `NOT ${a}`),
    tie('e').map((a) => `${a} IS NULL`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `${a} IN (${b}, "s", 1)`),
    fc.tuple(tie('e'), fc.constantFrom('"a*"', '"*?"', '("x*", "y")')).map(([a, p]) => `${a} LIKE ${p}`),
    tie('e').map((a) => `${a} RLIKE ".*a.*"`),
  ),
  case: fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, a, b]) => `CASE(${c}, ${a}, ${b})`),
})).e as fc.Arbitrary<string>;
const before = fc.oneof(
  expr.map((e) => `WHERE ${e}`),
  expr.map((e) => `EVAL z = ${e}`),
  fc.constant('MV_EXPAND a'),
  expr.map((e) => `SORT ${e} DESC NULLS LAST`),
  fc.constant('GROK a "%{WORD:w} %{INT:i:int}"'),
  fc.constant('DISSECT a "%{p}-%{q}"'),
  expr.map((e) => `INLINE STATS t = COUNT(${e}) BY a`),
);
const agg = fc.tuple(fc.constantFrom('COUNT', 'COUNT_DISTINCT', 'VALUES', 'MAX', 'MIN', 'SUM', 'AVG'), expr).map(([f, e]) => `${f}(${e})`);
const stats = fc.tuple(agg, agg, fc.oneof(field, expr)).map(([x, y, g]) => `STATS m = ${x}, k = ${y} BY g = ${g}`);
const after = fc.constantFrom('WHERE m > 0', 'SORT g', 'LIMIT 2', 'EVAL r = MV_FIRST(k)', 'KEEP m, g', 'DROP k');

test('well-formed ES|QL queries run over events of any shape without throwing', () => {
  const query = fc.tuple(fc.array(before, { maxLength: 4 }), fc.option(stats, { nil: undefined }), fc.array(after, { maxLength: 2 }))
    .map(([b, st, af]) => ['FROM x', ...b, ...(st ? [st, ...af] : [])].join(' | '));
  fc.assert(fc.property(query, fc.array(event, { maxLength: 5 }), (source, events) => {
    let q;
    try {
      q = compileEsql(source);
    } catch (err) {
      assert.ok(err instanceof LookoutError, `${source} threw ${String(err)}`);
      return;
    }
    const run = q.start({ now: new Date('2024-05-01T00:00:00Z') });
    for (const e of events) run.push({ _source: e as Record<string, unknown> });
    run.finish();
  }), { numRuns: RUNS * 2, seed: SEED });
});
