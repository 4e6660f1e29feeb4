/**
 * In-memory verdicts per construct and field type, and where the evaluator says it
 * approximates. The verdict table (test/helpers/kql-table.ts) is checked against the real
 * server too, in kql/server-agreement.test.ts, beside a property test on random input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileKql } from '../../src/kql/compile.js';
import { parseDateMath } from '../../src/config/date-math.js';
import { NOW, doc, types, verdicts } from '../helpers/kql-table.js';

describe('KQL in-memory verdicts (typed)', () => {
  for (const [source, expected] of verdicts) {
    test(source || '(empty)', () => {
      const m = compileKql(source).matcher({ types, now: () => NOW });
      assert.equal(m.matches(doc), expected);
    });
  }
});

const untyped: [string, boolean][] = [
  ['host.name:web-1', true],
  ['process.pid:4', true],
  ['process.pid:"4"', true],
  ['process.pid > 3', true],
  ['@timestamp > "2024-05-14T09:00:00Z"', true],
  ['@timestamp > "2024-05-14T11:00:00Z"', false],
  ['process.*:explorer.exe', true],
  ['process.*:*plorer*', true],
  ['items:{ name:a and size:1 }', true],
  ['items:{ name:a and size:5 }', false],
  ['items.name:b', true],
];

describe('KQL in-memory verdicts (no types: values compare as they are)', () => {
  for (const [source, expected] of untyped) {
    test(source, () => {
      const m = compileKql(source).matcher({ now: () => NOW });
      assert.equal(m.matches(doc), expected);
      assert.ok(m.approximate.length > 0, 'without types every field is approximate');
    });
  }
});

describe('KQL: where the evaluator approximates', () => {
  const cases: [string, string[]][] = [
    ['host.name:web-1 and process.pid:4 and source.ip:10.0.0.0/8 and @timestamp > now-1d and dns.resolved:true', []],
    ['message:foo', ['message']],
    ['mixed:foo', ['mixed']],
    ['foo', ['*']],
    ['host.name:x and (message:"a b" or nope)', ['*', 'message']],
    ['process.pid:abc', ['process.pid']],
    ['source.ip:not-an-ip', ['source.ip']],
    ['process.pid:4*', ['process.pid']],
    ['host.name:*', []],
    ['unknown:x', []],
    ['process.*:x', ['process.pid']],
  ];
  for (const [source, expected] of cases) {
    test(source, () => assert.deepEqual(compileKql(source).matcher({ types }).approximate, expected));
  }
});

describe('KQL date math (the server rounds range bounds)', () => {
  const now = Date.parse('2024-05-15T12:34:56.789Z');
  const cases: [string, boolean, string | null][] = [
    ['now', false, '2024-05-15T12:34:56.789Z'],
    ['now-1d', false, '2024-05-14T12:34:56.789Z'],
    ['now/d', false, '2024-05-15T00:00:00.000Z'],
    ['now/d', true, '2024-05-15T23:59:59.999Z'],
    ['now-1M/M', false, '2024-04-01T00:00:00.000Z'],
    ['now/w', false, '2024-05-13T00:00:00.000Z'],
    ['now+2h/H', true, '2024-05-15T14:59:59.999Z'],
    ['2024-02', true, '2024-02-01T23:59:59.999Z'],
    ['2024-02-10||/M', true, '2024-02-29T23:59:59.999Z'],
    ['2024-02-10||+1M/d', false, '2024-03-10T00:00:00.000Z'],
    ['2024-02-10T05:06:07.5', true, '2024-02-10T05:06:07.599Z'],
    ['2024-02-10T05:06:07+01:00', false, '2024-02-10T04:06:07.000Z'],
    ['1700000000000', false, '2023-11-14T22:13:20.000Z'],
    ['now-1x', false, null],
    ['yesterday', false, null],
    ['2024-13-01', false, null],
  ];
  for (const [text, roundUp, expected] of cases) {
    test(`${text} ${roundUp ? 'rounding up' : ''}`, () => {
      const t = parseDateMath(text, roundUp, now);
      assert.equal(t === null ? null : new Date(t).toISOString(), expected);
    });
  }
});

describe('compileKql', () => {
  test('lists the fields with nested paths in full, and says when it searches every field', () => {
    const c = compileKql('a:x and b:{ c:1 or d > 2 } and process.*:y and not free text');
    assert.deepEqual(c.fields, ['a', 'b', 'b.c', 'b.d', 'process.*']);
    assert.equal(c.searchesAllFields, true);
    assert.equal(compileKql('a:x').searchesAllFields, false);
    assert.deepEqual(compileKql('*:*').fields, []);
    assert.deepEqual(compileKql('*:x and y:*').fields, ['*', 'y']);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.fields));
  });

  test('matches() takes the types; a syntax error names the file and line', () => {
    assert.equal(compileKql('process.pid:4').matches(doc, types), true);
    assert.throws(() => compileKql('a:(b', { file: 'r.toml', line: 3 }), /^Error|r\.toml:3:5: /);
  });
});
