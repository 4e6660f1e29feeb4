import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileEql } from '../../src/eql/compile.js';
import { linePrefilter, lineTestTypes } from '../../src/search/line-prefilter.js';
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
    // must_not, ranges, numeric strings, numbers that are not whole, too large, 0 or 1, _index ask nothing.
    assert.equal(linePrefilter({ bool: { must_not: [{ term: { a: 'x1' } }] } }), undefined);
    assert.equal(linePrefilter({ bool: { filter: [{ range: { n: { gte: 3 } } }, { term: { port: 5.5 } }, { term: { port: 1e15 } }, { term: { port: 1 } }, { term: { port: 0 } }, { term: { port: '5985' } }, { wildcard: { _index: 'logs-*' } }] } }), undefined);
  });

  test('whole numbers ask for their digits unless the line could spell them otherwise, table', () => {
    const port = { terms: { port: [5985, 5986] } };
    const minus = { term: { n: -4 } };
    const cases: [unknown, string, boolean][] = [
      [port, '{"port":5985}', true],
      [port, '{"port":5986.0}', true],
      [port, '{"port":"+05985"}', true],
      [port, '{"port":443}', false],
      [port, '{"port":"443","id":"598"}', false],
      // Spellings without the digits: exponents, 16 digits or more, non-decimal literals.
      [port, '{"port":5.985e3}', true],
      [port, '{"port":"59850E-1"}', true],
      [port, '{"port":"5985.e0"}', true],
      [port, '{"port":5984.9999999999999999}', true],
      [port, '{"port":"0x1761"}', true],
      [port, '{"port":"\\t0X1761 "}', true],
      [port, '{"port":"0o13541"}', true],
      [port, '{"port":"0b1011101100001"}', true],
      [port, '{"port":"a0x1761"}', false],
      [port, '{"port":5984.9,"t":"0.99"}', false],
      [port, '{"port":"file-2e","t":"1e"}', false],
      [port, '{"port":"1.2.3.4","v":"1e"}', false],
      [minus, '{"n":-4.0}', true],
      [minus, '{"n":"-04"}', true],
      [minus, '{"n":-5}', false],
      [{ term: { n: 10 } }, '{"n":"-010"}', true],
      [{ term: { n: 10 } }, '{"n":"1e1"}', true],
      [{ term: { n: 10 } }, '{"n":1}', false],
    ];
    for (const [query, line, expected] of cases) {
      const t = linePrefilter(query as Record<string, unknown>);
      assert.ok(t, JSON.stringify(query));
      assert.equal(t(line), expected, `${JSON.stringify(query)} on ${line}`);
    }
    // Not on a field whose numbers may not ask (a mapping's null_value).
    assert.equal(linePrefilter(port, (f) => f !== 'port'), undefined);
    assert.ok(linePrefilter(port, (f) => f === 'port'));
  });

  test('a field compared only with numbers is taken as numeric for the line test; one also compared with strings is not', () => {
    const q = compileEql('any where (n == 5985 or k == "x1") and s == "x2" and k != "x3"');
    if (q.kind !== 'event') throw new Error('expected an event query');
    const types = lineTestTypes(keyword, (t) => eqlPushdown(new Pushdown(t), q), () => true);
    assert.deepEqual([...types.get('n')!], ['double']);
    assert.deepEqual([...types.get('missing')!], ['double']);
    assert.deepEqual([...types.get('s')!], ['keyword']);
    assert.deepEqual([...types.get('k')!], ['keyword']);
    const t = linePrefilter(eqlPushdown(new Pushdown(types), q))!;
    assert.equal(t('{"n":5985,"s":"x2"}'), true);
    assert.equal(t('{"n":443,"s":"x2"}'), false);
    assert.equal(t('{"n":443,"k":"x1","s":"x2"}'), true);
    // A field a mapping types is left as it is.
    assert.deepEqual([...lineTestTypes(keyword, (t2) => eqlPushdown(new Pushdown(t2), q), (f) => f !== 'n').get('n')!], ['keyword']);
  });

  test('for random conditions, every event the evaluator accepts passes the line test (property)', () => {
    // Numbers as the evaluator reads them however JSON writes them: floats, exponents, strings
    // with signs, zeros, spaces and non-decimal literals, 16 digits and more.
    const odd: Record<number, string[]> = {
      0: ['0.0', '-0', '"-0"', '".0"', '"0x0"', '0e5', '"  0 "'],
      1: ['1.0', '"+1"', '"0b1"', '1e0', '"0.1e1"', '0.99999999999999999'],
      4: ['4.000', '"04"', '"0o4"', '"\\n4\\t"', '40e-1', '3.99999999999999999'],
      5: ['"5."', '"0x5"', '0.5E1'],
      10: ['"0xA"', '"0XA"', '1e1', '"10.0"', '9.9999999999999999'],
      [-3]: ['-3.0', '"-03"', '-3e0', '"-0.3E1"', '-2.99999999999999999'],
      5985: ['5985.0', '5.985e3', '"05985"', '"+5985"', '" 5985 "', '"0x1761"', '"59850E-1"', '5984.99999999999999999', '"5985.e0"'],
    };
    const base = makeEvents(400).map((e) => JSON.stringify(e));
    const lines = base.flatMap((line, i) => {
      const m = /"n":(-?\d+|"-?\d+")/.exec(line);
      const written = m ? odd[Number(JSON.parse(m[1]))] : undefined;
      return written && i % 2 === 0 ? [line, line.replace(m![0], `"n":${written[i % written.length]}`)] : [line];
    });
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const numeric = new Map([...keyword].map(([f]) => [f, new Set([f === 'n' ? 'double' : 'keyword'])]));
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom('process', 'network', 'any'), condition, (category, cond) => {
        const q = compileEql(`${category} where ${cond}`);
        if (q.kind !== 'event') throw new Error('expected an event query');
        const t = linePrefilter(eqlPushdown(new Pushdown(lineTestTypes(keyword, (types) => eqlPushdown(new Pushdown(types), q), () => true)), q));
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
    // The numeric field is narrowed too (the table above checks what it refuses).
    const q = compileEql('any where n == 5985');
    if (q.kind !== 'event') throw new Error('expected an event query');
    const t = linePrefilter(eqlPushdown(new Pushdown(numeric), q))!;
    assert.ok(lines.filter((l) => !t(l)).length > 100, 'lines without 5985 are refused');
  });
});
