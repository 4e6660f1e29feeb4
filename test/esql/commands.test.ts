import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEsql } from '../../src/esql/compile.js';
import { EsqlRuntimeError } from '../../src/errors.js';
import { typeOfValue } from '../../src/esql/values.js';
import { run } from './helpers.js';

const events = [
  { '@timestamp': '2024-05-01T10:00:00Z', host: { name: 'a' }, user: { name: 'alice' }, n: 1, tags: ['x', 'y'] },
  { '@timestamp': '2024-05-01T10:01:00Z', host: { name: 'a' }, user: { name: 'bob' }, n: 2, tags: 'x' },
  { '@timestamp': '2024-05-01T10:02:00Z', host: { name: 'b' }, user: { name: 'alice' }, n: 3 },
  { '@timestamp': '2024-05-01T10:03:00Z', host: { name: 'b' }, n: 4, msg: 'GET /index.html 15824 0.043' },
];

describe('ES|QL commands', () => {
  test('FROM makes rows of leaf fields and METADATA', () => {
    const { rows } = run('FROM logs-* METADATA _id, _index | KEEP _id, _index, host.name, a.b', [
      { _id: 'i1', _index: 'logs-1', _source: { host: { name: 'h' }, a: [{ b: 1 }, { b: 2 }] } },
    ]);
    assert.deepEqual(rows, [{ _id: 'i1', _index: 'logs-1', 'host.name': 'h', 'a.b': [1, 2] }]);
  });

  test('WHERE keeps only true: null and multi-valued comparisons drop the row', () => {
    const { rows, stats } = run('FROM x | WHERE tags == "x" | KEEP n', events);
    assert.deepEqual(rows, [{ n: 2 }]);
    assert.ok(stats.warnings > 0);
  });

  test('NOT, IN, IS NULL, LIKE and RLIKE', () => {
    assert.deepEqual(run('FROM x | WHERE NOT user.name IN ("bob") | KEEP n', events).rows, [{ n: 1 }, { n: 3 }]);
    assert.deepEqual(run('FROM x | WHERE user.name IS NULL | KEEP n', events).rows, [{ n: 4 }]);
    assert.deepEqual(run('FROM x | WHERE user.name LIKE "al*" AND host.name NOT LIKE "b" | KEEP n', events).rows, [{ n: 1 }]);
    assert.deepEqual(run('FROM x | WHERE user.name RLIKE "b.b" | KEEP n', events).rows, [{ n: 2 }]);
    assert.deepEqual(run('FROM x | WHERE user.name LIKE ("b*", "x*") | KEEP n', events).rows, [{ n: 2 }]);
    assert.deepEqual(run('FROM x | WHERE msg LIKE "GET \\\\*" | KEEP n', events).rows, []);
  });

  test('STATS ... BY with multi-valued group keys, COUNT(*), VALUES, COUNT_DISTINCT', () => {
    const { rows, stats } = run('FROM x | STATS c = COUNT(*), users = VALUES(user.name), d = COUNT_DISTINCT(user.name) BY tags', events);
    assert.deepEqual(rows, [
      { c: 2, users: ['alice', 'bob'], d: 2, tags: 'x' },
      { c: 1, users: 'alice', d: 1, tags: 'y' },
      { c: 2, users: 'alice', d: 1, tags: null },
    ]);
    assert.equal(stats.groups, 3);
  });

  test('STATS without BY over no rows gives one row; aggregate expressions and WHERE filters', () => {
    assert.deepEqual(run('FROM x | WHERE n > 100 | STATS c = COUNT(*), m = MAX(n)', events).rows, [{ c: 0, m: null }]);
    assert.deepEqual(run('FROM x | STATS s = SUM(n) + 1, a = AVG(n), m = MIN(@timestamp), b = COUNT(*) WHERE n > 2', events).rows, [
      { s: 11, a: 2.5, m: '2024-05-01T10:00:00.000Z', b: 2 },
    ]);
    assert.deepEqual(run('FROM x | STATS COUNT(user.name), TOP(n, 2, "desc")', events).rows, [{ 'COUNT(user.name)': 3, 'TOP(n, 2, "desc")': [4, 3] }]);
  });

  test('aggregates over multi-values (docs: COUNT and COUNT_DISTINCT of SPLIT("foo;bar;baz;qux;quux;foo", ";") are 6 and 5)', () => {
    const { rows } = run('FROM x | STATS word_count = COUNT(SPLIT(words, ";")), distinct_word_count = COUNT_DISTINCT(SPLIT(words, ";"))', [
      { words: 'foo;bar;baz;qux;quux;foo' },
    ]);
    assert.deepEqual(rows, [{ word_count: 6, distinct_word_count: 5 }]);
  });

  test('INLINE STATS adds the group aggregate to every row', () => {
    const { rows } = run('FROM x | INLINE STATS c = COUNT(*) BY host.name | KEEP n, c', events);
    assert.deepEqual(rows, [{ n: 1, c: 2 }, { n: 2, c: 2 }, { n: 3, c: 2 }, { n: 4, c: 2 }]);
  });

  test('SORT with DESC and NULLS FIRST, then LIMIT', () => {
    assert.deepEqual(run('FROM x | SORT user.name DESC NULLS LAST, n | LIMIT 3 | KEEP n', events).rows, [{ n: 2 }, { n: 1 }, { n: 3 }]);
    assert.deepEqual(run('FROM x | SORT user.name ASC NULLS FIRST | KEEP n', events).rows, [{ n: 4 }, { n: 1 }, { n: 3 }, { n: 2 }]);
  });

  test('EVAL, RENAME, DROP, KEEP with patterns', () => {
    const { rows } = run('FROM x | WHERE n == 1 | EVAL Esql.a = n * 2, Esql.b = Esql.a + 1 | RENAME host.name AS h | DROP tags | KEEP h, Esql.*', events);
    assert.deepEqual(rows, [{ h: 'a', 'Esql.a': 2, 'Esql.b': 3 }]);
  });

  test('KEEP precedence: exact names over partial wildcards over *, columns in pattern order', () => {
    const src = [{ a1: 1, a2: 2, b: 3, c: 4 }];
    assert.deepEqual(run('FROM x | KEEP a*, b, a1', src).rows.map((r) => Object.keys(r)), [['a2', 'b', 'a1']]);
    assert.deepEqual(run('FROM x | KEEP *, a*, c', src).rows.map((r) => Object.keys(r)), [['b', 'a1', 'a2', 'c']]);
  });

  test('MV_EXPAND emits a row per value', () => {
    assert.deepEqual(run('FROM x | WHERE n == 1 | MV_EXPAND tags | KEEP tags', events).rows, [{ tags: 'x' }, { tags: 'y' }]);
  });

  test('GROK (docs example) and DISSECT (docs example)', () => {
    // docs: GROK a = "2023-01-23T12:15:00.000Z 127.0.0.1 some.email@foo.com 42"
    const grok = run('FROM x | GROK a """%{TIMESTAMP_ISO8601:date} %{IP:ip} %{EMAILADDRESS:email} %{NUMBER:num:int}""" | KEEP date, ip, email, num', [
      { a: '2023-01-23T12:15:00.000Z 127.0.0.1 some.email@foo.com 42' },
    ]);
    assert.deepEqual(grok.rows, [{ date: '2023-01-23T12:15:00.000Z', ip: '127.0.0.1', email: 'some.email@foo.com', num: 42 }]);
    const named = run('FROM x | GROK a """roleArn=(?<Esql.role>arn:[^,]+)""" | KEEP Esql.role', [{ a: 'x roleArn=arn:aws:iam::1:role/r, y' }, {}]);
    assert.deepEqual(named.rows, [{ 'Esql.role': 'arn:aws:iam::1:role/r' }, { 'Esql.role': null }]);
    // docs: DISSECT a "%{date} - %{msg} - %{ip}"
    const dissect = run('FROM x | DISSECT a """%{date} - %{msg} - %{ip}""" | KEEP date, msg, ip', [
      { a: '2023-01-23T12:15:00.000Z - some text - 127.0.0.1' },
    ]);
    assert.deepEqual(dissect.rows, [{ date: '2023-01-23T12:15:00.000Z', msg: 'some text', ip: '127.0.0.1' }]);
    const append = run('FROM x | DISSECT a "%{+p} %{+p}" APPEND_SEPARATOR = "/" | KEEP p', [{ a: 'x y' }]);
    assert.deepEqual(append.rows, [{ p: 'x/y' }]);
  });

  test('field types from _field_caps read values as doc values (keywords sorted and deduplicated)', () => {
    const fieldTypes = new Map([['k', new Set(['keyword'])], ['d', new Set(['double'])]]);
    const { rows } = run('FROM x | EVAL f = MV_FIRST(k), h = d / 2 | KEEP f, h', [{ k: ['b', 'a', 'b'], d: 3 }], { fieldTypes });
    assert.deepEqual(rows, [{ f: 'a', h: 1.5 }]);
  });

  test('streaming: rows come out as events arrive; LIMIT marks the run done', () => {
    const r = compileEsql('FROM x | WHERE n > 1 | LIMIT 2').start();
    assert.equal(r.push({ _source: { n: 1 } }).length, 0);
    assert.equal(r.push({ _source: { n: 2 } }).length, 1);
    assert.equal(r.done, false);
    assert.equal(r.push({ _source: { n: 3 } }).length, 1);
    assert.equal(r.done, true);
    const s = compileEsql('FROM x | STATS c = COUNT(*)').start();
    assert.equal(s.push({ _source: {} }).length, 0);
    assert.equal(s.finish().length, 1);
  });

  test('STATS refuses more groups than its bound', () => {
    const r = compileEsql('FROM x | STATS c = COUNT(*) BY n').start({ maxGroups: 2 });
    r.push({ _source: { n: 1 } });
    r.push({ _source: { n: 2 } });
    assert.throws(() => r.push({ _source: { n: 3 } }), EsqlRuntimeError);
  });

  test('value types for a printed table', () => {
    const r = compileEsql('FROM x | EVAL d = @timestamp, i = n, f = n / 2.0, s = TO_STRING(n), b = n > 1, p = TO_GEOPOINT("POINT(1 2)"), z = NULL, m = [1.5, 2.5] | KEEP d, i, f, s, b, p, z, m').start();
    const [row] = [...r.push({ _source: { '@timestamp': '2024-01-01T00:00:00Z', n: 3 } }), ...r.finish()];
    assert.deepEqual([...row].map(([k, v]) => [k, typeOfValue(v)]), [
      ['d', 'datetime'], ['i', 'long'], ['f', 'double'], ['s', 'keyword'], ['b', 'boolean'], ['p', 'geo_point'], ['z', 'null'], ['m', 'double'],
    ]);
  });

  test('the implicit LIMIT 1000', () => {
    const many = Array.from({ length: 1200 }, (_, i) => ({ n: i }));
    assert.equal(run('FROM x | KEEP n', many).rows.length, 1000);
  });

  test('KQL runs through the injected factory', () => {
    const kql = (q: string) => (row: Map<string, unknown>, source: Readonly<Record<string, unknown>> | undefined) =>
      row.get('host.name') === q.split(':')[1].trim() && (source?.host as { name?: string } | undefined)?.name === row.get('host.name');
    assert.deepEqual(run('FROM x | WHERE KQL("host.name: b") | KEEP n', events, { kql }).rows, [{ n: 3 }, { n: 4 }]);
  });
});

test('the implicit LIMIT 1000 applies unless the query ends its rows with a LIMIT of its own (at most 10,000 rows)', () => {
  const rows = (query: string) => {
    const run = compileEsql(query).start();
    const out = [];
    for (let i = 0; i < 12_000; i++) out.push(...run.push({ _source: { n: i } }));
    out.push(...run.finish());
    return out.length;
  };
  assert.equal(rows('FROM x | WHERE n >= 0'), 1000);
  assert.equal(rows('FROM x | STATS c = COUNT(*) BY n'), 1000);
  assert.equal(rows('FROM x | STATS c = COUNT(*) BY n | LIMIT 5000'), 5000);
  assert.equal(rows('FROM x | LIMIT 5000 | STATS c = COUNT(*) BY n'), 1000, 'a LIMIT before STATS does not lift the implicit one');
  assert.equal(rows('FROM x | STATS c = COUNT(*) BY n | LIMIT 20000'), 10_000);
});
