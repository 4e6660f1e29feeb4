import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilters, FilterError } from '../../src/rules/filters.js';

const doc = { host: { name: 'ws1', os: { type: 'windows' } }, process: { pid: 4, name: 'cmd.exe' }, '@timestamp': '2026-11-25T10:00:00Z', tags: ['a', 'b'] };

describe('Kibana filters', () => {
  const cases: [unknown[], boolean][] = [
    [[{ meta: {}, query: { match_phrase: { 'host.name': 'ws1' } } }], true],
    [[{ meta: { negate: true }, query: { match_phrase: { 'host.name': 'ws1' } } }], false],
    [[{ meta: { disabled: true }, query: { match_phrase: { 'host.name': 'nope' } } }], true],
    [[{ query: { term: { 'process.pid': 4 } } }], true],
    [[{ query: { term: { 'process.name': { value: 'CMD.EXE', case_insensitive: true } } } }], true],
    [[{ query: { terms: { tags: ['x', 'b'] } } }], true],
    [[{ exists: { field: 'process.name' } }], true],
    [[{ query: { exists: { field: 'user.name' } } }], false],
    [[{ query: { range: { 'process.pid': { gte: 1, lt: 4 } } } }], false],
    [[{ query: { range: { '@timestamp': { gte: '2026-11-25T00:00:00Z' } } } }], true],
    [[{ query: { bool: { should: [{ match: { 'host.name': 'x' } }, { match: { 'host.name': 'ws1' } }] } } }], true],
    [[{ query: { bool: { must_not: [{ match: { 'host.os.type': 'windows' } }] } } }], false],
    [[{ query: { wildcard: { 'process.name': { value: 'c?d.*' } } } }], true],
    [[{ query: { wildcard: { 'process.name': { value: 'C?D.*' } } } }], false],
    [[{ query: { wildcard: { 'process.name': { value: 'C?D.*', case_insensitive: true } } } }], true],
    [[{ query: { wildcard: { 'process.name': 'cmd\\.exe' } } }], true],
    [[{ query: { wildcard: { 'process.name': 'cmd\\*' } } }], false],
    [[{ meta: { negate: true }, query: { wildcard: { 'host.name': { value: 'ws*' } } } }], false],
  ];
  for (const [filters, expected] of cases) {
    test(`${JSON.stringify(filters)} is ${expected}`, () => {
      const f = compileFilters(filters);
      assert.equal(f.matches(doc), expected);
      assert.ok(f.query === null || typeof f.query === 'object');
    });
  }

  test('a clause the in-memory check does not know is refused by name', () => {
    assert.throws(() => compileFilters([{ query: { query_string: { query: 'x' } } }]), (err: unknown) =>
      err instanceof FilterError && err.message === "filters[0]: filter clause 'query_string' is not supported (supported: match_phrase, match, term, terms, exists, range, wildcard, bool)");
  });

  test('negated filters become must_not in the search', () => {
    const f = compileFilters([{ meta: { negate: true }, query: { match_phrase: { 'host.name': 'ws1' } } }, { query: { exists: { field: 'a' } } }]);
    assert.deepEqual(f.query, { bool: { filter: [{ exists: { field: 'a' } }], must_not: [{ match_phrase: { 'host.name': 'ws1' } }] } });
  });
});
