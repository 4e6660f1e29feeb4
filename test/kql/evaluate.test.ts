/**
 * In-memory verdicts per construct and field type, and where the evaluator says it
 * approximates. The exact-type rows are the server's answers (the property test,
 * kql/server-agreement.test.ts, checks the same semantics against Elasticsearch on random input).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FieldTypes } from '../../src/search/field-caps.js';
import { compileKql } from '../../src/kql/compile.js';
import { parseDateMath } from '../../src/kql/date-math.js';

const types: FieldTypes = new Map(
  Object.entries({
    'host.name': ['keyword'],
    'process.name': ['keyword'],
    'process.pid': ['long'],
    'process.args': ['keyword'],
    'process.parent.name': ['keyword'],
    process: ['object'],
    ratio: ['double'],
    f32: ['float'],
    message: ['text'],
    '@timestamp': ['date'],
    'source.ip': ['ip'],
    'dns.resolved': ['boolean'],
    mixed: ['keyword', 'text'],
    items: ['nested'],
    'items.name': ['keyword'],
    'items.size': ['long'],
  }).map(([k, v]) => [k, new Set(v)]),
);

const NOW = Date.parse('2024-05-15T12:00:00Z');

const doc = {
  '@timestamp': '2024-05-14T10:00:00.000Z',
  host: { name: 'web-1' },
  process: { name: 'cmd.exe', pid: 4, args: ['cmd.exe', '/c', 'whoami'] },
  'process.parent': { name: 'explorer.exe' },
  ratio: 0.5,
  f32: 0.1,
  message: 'Failed password for root from 10.1.2.3',
  source: { ip: '10.1.2.3' },
  dns: { resolved: true },
  items: [{ name: 'a', size: 1 }, { name: 'b', size: 5 }],
};

const verdicts: [string, boolean][] = [
  ['', true],
  ['host.name:web-1', true],
  ['host.name:WEB-1', false],
  ['host.name:"web-1"', true],
  ['host.name:web', false],
  ['host.name:web*', true],
  ['host.name:*-1', true],
  ['host.name:w*b*1', true],
  ['host.name:web-?', false],
  ['host.name:*', true],
  ['user.name:*', false],
  ['process.args:whoami', true],
  ['process.args:(whoami and cmd.exe)', true],
  ['process.args:(whoami and not cmd.exe)', false],
  ['process.pid:4', true],
  ['process.pid:4.0', true],
  ['process.pid:4.5', false],
  ['process.pid > 3 and process.pid < 5', true],
  ['process.pid >= 4.5', false],
  ['process.pid > 3.5', true],
  ['ratio:0.5', true],
  ['ratio < 0.5', false],
  ['f32:0.1', true],
  ['source.ip:10.1.2.3', true],
  ['source.ip:10.0.0.0/8', true],
  ['source.ip:"10.1.2.0/24"', true],
  ['source.ip:192.168.0.0/16', false],
  ['source.ip:"::ffff:10.1.2.3"', true],
  ['source.ip > 10.1.2.2', true],
  ['source.ip:10.1.2.*', false], // a wildcard on an ip field is refused by the server
  ['dns.resolved:true', true],
  ['dns.resolved:false', false],
  ['dns.resolved:"true"', true],
  ['@timestamp:2024-05-14', true],
  ['@timestamp:2024-05', false], // the first day of the month only, as the server reads it
  ['@timestamp:2024-05-14||/M', true], // gte rounds down, lte up: the whole month
  ['@timestamp >= 2024-05-14||/M', true],
  ['@timestamp:2024-05-13', false],
  ['@timestamp > 2024-05-14', false],
  ['@timestamp >= 2024-05-14', true],
  ['@timestamp < "2024-05-14T10:00:00"', false],
  ['@timestamp <= "2024-05-14T10:00:00"', true], // the bound takes its last millisecond
  ['@timestamp > now-1d', false],
  ['@timestamp > now-2d', true],
  ['@timestamp > now-1d/d', false],
  ['@timestamp >= now-1d/d', true],
  ['@timestamp > now/d', false],
  ['@timestamp < now-2h', true],
  ['@timestamp >= 2024-05-14||+1d', false],
  ['@timestamp:"2024-05-14T10:00:00Z"', true],
  ['@timestamp:"2024-05-14T12:00:00+02:00"', true],
  // text: lower-cased tokens; match needs one, match_phrase a run
  ['message:password', true],
  ['message:PASSWORD', true],
  ['message:"password for root"', true],
  ['message:"root for"', false],
  ['message:"root for" or message:failed', true],
  ['message:pass*', true],
  // field-less terms search every field
  ['whoami', true],
  ['explorer.exe', true],
  ['"for root"', true],
  ['nothing-here', false],
  ['cmd*', true],
  // wildcard field names: dotted keys and objects alike
  ['process.*:explorer.exe', true],
  ['process.parent.name:explorer.exe', true],
  // boolean structure
  ['not host.name:web-1', false],
  ['host.name:x or process.pid:4 and not ratio:1', true],
  ['(host.name:x or process.pid:4) and ratio:1', false],
  // nested: the inner condition holds in one object
  ['items:{ name:a and size:1 }', true],
  ['items:{ name:a and size:5 }', false],
  ['items:{ name:b and size > 2 }', true],
  ['items.name:a', false], // a nested field is not on the root document
  ['process:{ name:"cmd.exe" }', false], // not a nested mapping: the server matches nothing (or fails)
  // unknown to the types: matches nothing, as on the server
  ['unknown:x', false],
];

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
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.fields));
  });

  test('matches() takes the types; a syntax error names the file and line', () => {
    assert.equal(compileKql('process.pid:4').matches(doc, types), true);
    assert.throws(() => compileKql('a:(b', { file: 'r.toml', line: 3 }), /^Error|r\.toml:3:5: /);
  });
});
