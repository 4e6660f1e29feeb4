import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileEql } from '../../src/eql/compile.js';
import { linePrefilter } from '../../src/search/line-prefilter.js';
import { Pushdown } from '../../src/search/pushdown.js';
import { eqlPushdown } from '../../src/eql/pushdown.js';
import { condition, makeEvents } from '../helpers/eql-arbitrary.js';

const keyword = new Map(['s', 'k', 'n', 'nested.t', 'missing', 'event.category'].map((f) => [f, new Set(['keyword'])]));

describe('line prefilter', () => {
  test('requirements read off query DSL, table', () => {
    const cases: [unknown, string, boolean][] = [
      [{ term: { 'process.name': 'cmd.exe' } }, '{"process":{"name":"cmd.exe"}}', true],
      [{ term: { 'process.name': 'cmd.exe' } }, '{"process":{"name":"CMD.EXE"}}', false],
      [{ term: { 'process.name': { value: 'cmd.exe', case_insensitive: true } } }, '{"process":{"name":"CMD.EXE"}}', true],
      [{ terms: { 'event.category': ['process', 'network'] } }, '{"event":{"category":["network"]}}', true],
      [{ terms: { 'event.category': ['process', 'network'] } }, '{"event":{"category":["file"]}}', false],
      // Wildcard pieces, with the backslashes JSON doubles.
      [{ wildcard: { 'process.executable': { value: '?:\\\\Windows\\\\*\\\\cmd.exe' } } }, JSON.stringify({ process: { executable: 'C:\\Windows\\System32\\cmd.exe' } }), true],
      [{ wildcard: { 'process.executable': { value: '?:\\\\Windows\\\\*\\\\cmd.exe' } } }, JSON.stringify({ process: { executable: 'C:\\Temp\\cmd.exe' } }), false],
      [{ bool: { filter: [{ term: { a: 'x1' } }, { term: { b: 'y1' } }] } }, '{"a":"x1"}', false],
      [{ bool: { should: [{ term: { a: 'x1' } }, { term: { b: 'y1' } }], minimum_should_match: 1 } }, '{"b":"y1"}', true],
      // A line that could spell a value with escapes is always parsed.
      [{ term: { a: 'cmd.exe' } }, '{"a":"cmd\\u002eexe"}', true],
      [{ term: { a: 'a/b' } }, '{"a":"a\\/b"}', true],
      [{ term: { a: { value: 'strasse', case_insensitive: true } } }, '{"a":"STRAßE"}', true],
      [{ term: { a: 'strasse' } }, '{"a":"STRAßE"}', false],
    ];
    for (const [query, line, expected] of cases) {
      const t = linePrefilter(query as Record<string, unknown>);
      assert.ok(t, JSON.stringify(query));
      assert.equal(t(line), expected, `${JSON.stringify(query)} on ${line}`);
    }
    assert.equal(linePrefilter(null), undefined);
    // must_not, ranges, numbers, numeric strings, _index ask nothing.
    assert.equal(linePrefilter({ bool: { must_not: [{ term: { a: 'x1' } }] } }), undefined);
    assert.equal(linePrefilter({ bool: { filter: [{ range: { n: { gte: 3 } } }, { term: { port: 5985 } }, { term: { port: '5985' } }, { wildcard: { _index: 'logs-*' } }] } }), undefined);
  });

  test('for random conditions, every event the evaluator accepts passes the line test (property)', () => {
    const events = makeEvents(400);
    const lines = events.map((e) => JSON.stringify(e));
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom('process', 'network', 'any'), condition, (category, cond) => {
        const q = compileEql(`${category} where ${cond}`);
        if (q.kind !== 'event') throw new Error('expected an event query');
        const t = linePrefilter(eqlPushdown(new Pushdown(keyword), q));
        if (!t) return;
        events.forEach((e, i) => {
          if (!t(lines[i])) {
            rejected++;
            assert.ok(!q.stage.matches(e), `${category} where ${cond}: ${lines[i]} accepted by the evaluator, refused by the line test`);
          }
        });
      }),
      { numRuns: 1000, seed: 20261126 },
    );
    assert.ok(rejected > 50_000, `the line test refuses many lines (${rejected})`);
  });
});
