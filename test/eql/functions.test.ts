/** Functions, arithmetic and regex: values per Elasticsearch's EQL reference, with null and arrays. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { cidrContains } from '../../src/eql/functions.js';
import { compileRegex } from '../../src/eql/regex.js';
import fc from 'fast-check';

function accepts(cond: string, doc: Record<string, unknown> = {}): boolean {
  const q = compileEql(`any where ${cond}`);
  return q.kind === 'event' && q.stage.matches(doc);
}

const doc = {
  s: 'welcome to event query language', n: 10, neg: -10, ip: '10.1.2.3', ip6: '2001:db8::1', mapped: '::ffff:192.168.1.5',
  arr: ['cmd.exe', 'powershell.exe'], hex: '0x1F', empty: '', path: 'C:\\Windows\\System32\\cmd.exe',
};

const truthy: string[] = [
  // arithmetic
  'add(n, 5) == 15', 'n + 5 == 15', 'n - 15 == -5', 'subtract(n, 15) == -5', 'multiply(n, 3) == 30', 'n * 3 == 30',
  'divide(n, 4) == 2', 'n / 4 == 2', 'divide(10.0, 4) == 2.5', 'modulo(n, 3) == 1', 'n % 3 == 1', 'modulo(-10, -6) == -4', 'modulo(neg, 6) == -4',
  '-n == -10', '(n + 2) * 2 == 24',
  // strings
  'between(s, "welcome", "event") == " to "', 'between(s, " ", " ") == "to"', 'between(s, " ", " ", true) == "to event query"',
  'between~(s, "WELCOME", "EVENT") == " to "', 'between(s, "nope", " ") == ""',
  'concat(s, "!", n) == "welcome to event query language!10"', 'concat("a", "b") == "ab"',
  'endsWith(s, "language")', 'endsWith~(s, "LANGUAGE")', 'not endsWith(s, "LANGUAGE")',
  'startsWith(s, "welcome")', 'startsWith~(s, "WELCOME")', 'not startsWith(s, "WELCOME")',
  'stringContains(s, "event")', 'stringContains~(s, "EVENT")', 'not stringContains(s, "EVENT")',
  'indexOf(s, "e") == 1', 'indexOf(s, "e", 2) == 6', 'indexOf(s, "e", -5) == 1', 'indexOf~(s, "E") == 1',
  'length(s) == 31', 'length(empty) == 0',
  'number("1337") == 1337', 'number("-2.5") == -2.5', 'number(hex) == 31', 'number("1F", 16) == 31', 'number("0x1F", 16) == 31', 'number("777", 8) == 511',
  'string(n) == "10"', 'string(true) == "true"',
  'substring(s, 0, 7) == "welcome"', 'substring(s, -8) == "language"', 'substring(s, 8, -15) == "to event"', 'substring(s, 40) == ""',
  // cidr
  'cidrMatch(ip, "10.0.0.0/8")', 'cidrMatch(ip, "192.168.0.0/16", "10.1.2.0/24")', 'cidrMatch(ip6, "2001:db8::/32")',
  'cidrMatch(mapped, "192.168.0.0/16")', 'not cidrMatch(ip, "192.168.0.0/16")',
  // arrays: any value
  'endsWith(arr, "shell.exe")', 'length(arr) == 7',
  // regex (Lucene syntax, whole value)
  's regex "welcome.*"', 'not s regex "welcome"', 's regex~ "WELCOME.*"', 'not s regex "WELCOME.*"',
  'path regex """C:\\\\Windows\\\\.*\\.exe"""', 'arr regex ("x", "power[a-z]+\\\\.exe")', 's regex "welcome @"',
  's regex ".*\\"query\\".*"', 'ip regex "10\\\\.[0-9]{1,3}\\\\.[0-9]+\\\\.3"', 'not hex regex "0x1F$"', 'hex regex """0x1F\\$?"""',
  // comparisons of function results with literals on either side
  '31 == length(s)', 'length(s) > 30', 'length(s) >= 31', 'not length(s) < 31',
];

const nullish: string[] = [
  // a null argument makes the function null, and a predicate over null is false
  'length(missing) == 0', 'length(missing) != 0', 'concat(s, missing) == "x"', 'startsWith(missing, "a")',
  'add(missing, 1) == 1', 'divide(n, 0) == 0', 'indexOf(s, "zzz") == 0', 'number("abc") == 0', 'cidrMatch(missing, "10.0.0.0/8")',
  'missing regex ".*"',
];

describe('EQL functions', () => {
  for (const cond of truthy) {
    test(`${cond} is true`, () => assert.equal(accepts(cond, doc), true));
  }
  for (const cond of nullish) {
    test(`${cond} is false (null)`, () => assert.equal(accepts(cond, doc), false));
  }

  test('not over a null predicate is true (it runs as must_not of a script query)', () => {
    assert.equal(accepts('not startsWith(missing, "a")', doc), true);
  });

  test('function names are case-insensitive', () => {
    assert.equal(accepts('STARTSWITH(s, "welcome") and Length(s) == 31', doc), true);
  });

  test('cidr containment, v4 and v6', () => {
    assert.equal(cidrContains('10.0.0.1', '10.0.0.0/31'), true);
    assert.equal(cidrContains('10.0.0.2', '10.0.0.0/31'), false);
    assert.equal(cidrContains('fe80::1', 'fe80::/10'), true);
    assert.equal(cidrContains('10.0.0.1', 'fe80::/10'), false);
    assert.equal(cidrContains('not an ip', '10.0.0.0/8'), false);
    assert.equal(cidrContains('::1', '::1/128'), true);
  });

  test('regex cannot backtrack catastrophically: (a*)*b on 100 kB of a answers false', () => {
    assert.equal(accepts('s regex "(a*)*b"', { s: 'a'.repeat(100_000) }), false);
  });

  test('a regex remembers its results per value and answers as it did without: repeats, long values, more values than it keeps', () => {
    const patterns = ['[a-c]+\\.exe', 'a.*b', '(ab|ba)+', 'x?'];
    for (const [pattern, ci] of patterns.flatMap((p) => [[p, false], [p, true]] as const)) {
      const cached = compileRegex(pattern, ci);
      const text = fc.oneof(
        fc.stringMatching(/^[abcxAB.e]{0,6}$/),
        fc.constantFrom('abc.exe', 'ABC.EXE', 'ab'.repeat(300), `a${'x'.repeat(600)}b`),
        fc.integer({ min: 0, max: 10_000 }).map(String),
      );
      fc.assert(fc.property(fc.array(text, { maxLength: 400 }), (texts) => {
        for (const t of texts) assert.equal(cached(t), compileRegex(pattern, ci)(t), `${pattern}${ci ? '~' : ''} on ${t.slice(0, 20)}`);
      }), { numRuns: 40 });
    }
  });
});
