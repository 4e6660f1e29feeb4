/** Costly clauses decided on the window's values (search/window-values.ts): Lucene's matching, exactness, what is left alone. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EsQuery } from '../../src/search/pushdown.js';
import { decidableFields, decideOnValues, valuesAggs, valuesOf } from '../../src/search/window-values.js';

const wildcard = (field: string, value: string, ci = false) => ({ wildcard: { [field]: { value, ...(ci ? { case_insensitive: true } : {}) } } });
const ciTerm = (field: string, value: string) => ({ term: { [field]: { value, case_insensitive: true } } });

describe('deciding costly clauses on the window\'s values', () => {
  const values = ['C:\\Windows\\System32\\cmd.exe', 'c:\\windows\\SYSTEM32\\CMD.EXE', 'D:\\Windows\\cmd.exe', 'x*y', 'xzy', 'a?c', 'abc', 'é', 'aéc', 'a😀c', 'Straße', 'STRASSE', '', 'line\nbreak'];
  const cases: [string, EsQuery, string[]][] = [
    // [what, clause, values it matches]
    ['case-insensitive wildcard, `?` and `*`', wildcard('f', '?:\\\\windows\\\\*.exe', true), ['C:\\Windows\\System32\\cmd.exe', 'c:\\windows\\SYSTEM32\\CMD.EXE', 'D:\\Windows\\cmd.exe']],
    ['case-sensitive wildcard', wildcard('f', 'C:\\\\Windows\\\\*'), ['C:\\Windows\\System32\\cmd.exe']],
    ['an escaped `*` is literal', wildcard('f', 'x\\*y'), ['x*y']],
    ['an escaped `?` is literal', wildcard('f', 'a\\?c'), ['a?c']],
    ['`?` is one code point, whatever its width', wildcard('f', 'a?c'), ['a?c', 'abc', 'aéc', 'a😀c']],
    ['`*` crosses a line break', wildcard('f', 'line*'), ['line\nbreak']],
    ['`*` alone matches the empty value too', wildcard('f', '*'), values],
    ['case-insensitive ASCII pattern: other letters must match as they are', wildcard('f', 'STRA*', true), ['Straße', 'STRASSE']],
    ['case-insensitive ASCII pattern never folds a non-ASCII letter', wildcard('f', '?', true), ['é']],
    ['case-insensitive term', ciTerm('f', 'C:\\WINDOWS\\system32\\cmd.exe'), ['C:\\Windows\\System32\\cmd.exe', 'c:\\windows\\SYSTEM32\\CMD.EXE']],
    ['case-insensitive term of a regex-looking value', ciTerm('f', 'X*Y'), ['x*y']],
    ['regular-expression characters are literal', wildcard('f', '(a|b)+[c]'), []],
  ];
  for (const [what, clause, expected] of cases) {
    test(what, () => {
      assert.deepEqual(decidableFields(clause), ['f']);
      const { query, left } = decideOnValues(clause, new Map([['f', values]]));
      assert.equal(left, 0);
      assert.deepEqual(query, expected.length === 0 ? { match_none: {} } : { terms: { f: expected } });
    });
  }

  test('left alone: a case-insensitive clause with a non-ASCII letter, a plain term, other query kinds, a field whose values are not all known', () => {
    for (const q of [ciTerm('f', 'Straße'), wildcard('f', 'straß*', true), { term: { f: 'x' } }, { term: { f: { value: 'x' } } }, { prefix: { f: { value: 'x' } } }, { terms: { f: ['x'] } }]) {
      assert.deepEqual(decidableFields(q), [], JSON.stringify(q));
      assert.deepEqual(decideOnValues(q, new Map([['f', values]])), { query: q, left: 0 });
    }
    const q = { bool: { filter: [wildcard('f', 'x*', true), { bool: { must_not: [ciTerm('g', 'y')] } }] } };
    assert.deepEqual(decidableFields(q), ['f', 'g']);
    assert.deepEqual(decideOnValues(q, new Map([['f', ['X1', 'z']]])), { query: { bool: { filter: [{ terms: { f: ['X1'] } }, { bool: { must_not: [ciTerm('g', 'y')] } }] } }, left: 1 });
  });

  test('values are taken only when the aggregation left none out, and only as strings', () => {
    const fields = ['a', 'b', 'c', 'd'];
    assert.deepEqual(Object.keys(valuesAggs(fields)), ['v0', 'v1', 'v2', 'v3']);
    // All fields' buckets together stay under the cluster's search.max_buckets (65,536).
    assert.deepEqual(valuesAggs(['a']).v0, { terms: { field: 'a', size: 10_000, shard_size: 10_000, execution_hint: 'map' } });
    const many = valuesAggs(Array.from({ length: 8 }, (_, i) => `f${i}`));
    assert.ok(Object.values(many).reduce((n, a) => n + (a.terms as { shard_size: number }).shard_size, 0) <= 65_536);
    const got = valuesOf(fields, {
      v0: { buckets: [{ key: 'x' }, { key: 'y' }], sum_other_doc_count: 0 },
      v1: { buckets: [{ key: 'x' }], sum_other_doc_count: 3 },
      v2: { buckets: [{ key: 1 }], sum_other_doc_count: 0 },
      v3: { buckets: [], sum_other_doc_count: 0 },
    });
    assert.deepEqual([...got], [['a', ['x', 'y']], ['d', []]]);
    assert.deepEqual([...valuesOf(fields, undefined)], []);
  });
});
