/**
 * KQL parse trees and syntax errors. Cases marked "Kibana ast.test.ts" come from
 * elastic/kibana packages/kbn-es-query/src/kuery/ast/ast.test.ts (fromKueryExpression and
 * fromLiteralExpression); the rest follow the grammar (grammar.peggy) rule by rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KqlSyntaxError, LookoutError } from '../../src/errors.js';
import { parseKql } from '../../src/kql/parser.js';
import { showKql } from '../../src/kql/show.js';

const valid: [string, string][] = [
  // Kibana ast.test.ts
  ['  ', '(match_all)'],
  ['foo', '(is - "foo")'],
  ['  foo ', '(is - "foo")'],
  ['foo bar', '(is - "foo bar")'],
  ['foo and bar', '(and (is - "foo") (is - "bar"))'],
  ['foo and\u00a0bar', '(and (is - "foo") (is - "bar"))'],
  ['foo or bar', '(or (is - "foo") (is - "bar"))'],
  ['foo and bar and baz', '(and (is - "foo") (is - "bar") (is - "baz"))'],
  ['foo or bar or baz', '(or (is - "foo") (is - "bar") (is - "baz"))'],
  ['not (foo or bar)', '(not (or (is - "foo") (is - "bar")))'],
  ['foo or bar and baz or qux', '(or (is - "foo") (and (is - "bar") (is - "baz")) (is - "qux"))'],
  ['(foo or bar) and baz', '(and (or (is - "foo") (is - "bar")) (is - "baz"))'],
  ['foo:bar', '(is "foo" "bar")'],
  ['foo:bar baz', '(is "foo" "bar baz")'],
  ['foo:"bar baz"', '(is "foo" "bar baz")'],
  ['foo:(bar or baz)', '(or (is "foo" "bar") (is "foo" "baz"))'],
  ['foo:((bar or baz) and not qux)', '(and (or (is "foo" "bar") (is "foo" "baz")) (not (is "foo" "qux")))'],
  ['bytes > 1000 and bytes < 8000', '(and (gt "bytes" "1000") (lt "bytes" "8000"))'],
  ['bytes >= 1000 and bytes <= 8000', '(and (gte "bytes" "1000") (lte "bytes" "8000"))'],
  ['machine*:osx', '(is (wildcard "machine" "") "osx")'],
  ['foo:ba*', '(is "foo" (wildcard "ba" ""))'],
  ['foo:*', '(is "foo" (wildcard "" ""))'],
  ['nestedField:{ childOfNested: foo }', '(nested "nestedField" (is "childOfNested" "foo"))'],
  ['response:200 and nestedField:{ childOfNested:foo or childOfNested:bar }',
    '(and (is "response" "200") (nested "nestedField" (or (is "childOfNested" "foo") (is "childOfNested" "bar"))))'],
  ['response:200 and ( nestedField:{ childOfNested:foo } or nestedField:{ childOfNested:bar } )',
    '(and (is "response" "200") (or (nested "nestedField" (is "childOfNested" "foo")) (nested "nestedField" (is "childOfNested" "bar"))))'],
  ['nestedField:{ nestedChild:{ doublyNestedChild:foo } }', '(nested "nestedField" (nested "nestedChild" (is "doublyNestedChild" "foo")))'],
  ['x:true and y:false and z:null', '(and (is "x" true) (is "y" false) (is "z" null))'],
  ['x:"true"', '(is "x" "true")'],
  ['x:.3 and y:070 and z:-4', '(and (is "x" ".3") (is "y" "070") (is "z" "-4"))'],
  ['x:\\\\\\(\\)\\:\\<\\>\\"\\*', '(is "x" "\\\\():<>\\"*")'],
  ['x:\\\\u00A0', '(is "x" "\\\\u00A0")'],
  ['x:"\\\\():<>\\"*"', '(is "x" "\\\\():<>\\"*")'],
  ['x:"\\\\"', '(is "x" "\\\\")'],
  ['x:foo*bar', '(is "x" (wildcard "foo" "bar"))'],
  // keywords: case-insensitive, need white space, escapable
  ['a:b OR c:d AnD NOT e:f', '(or (is "a" "b") (and (is "c" "d") (not (is "e" "f"))))'],
  ['a or', '(is - "a or")'],
  ['a:\\or and b:\\AND', '(and (is "a" "or") (is "b" "AND"))'],
  ['a:b and', '(is "a" "b and")'],
  ['notepad', '(is - "notepad")'],
  ['not (not a:b)', '(not (not (is "a" "b")))'],
  // escapes
  ['a:"C:\\Windows\\x"', '(is "a" "C:\\\\Windows\\\\x")'],
  ['a:C\\:\\\\Windows\\\\*.exe', '(is "a" (wildcard "C:\\\\Windows\\\\" ".exe"))'],
  ['a:\\*x', '(is "a" "*x")'],
  ['a:"x*"', '(is "a" "x*")'],
  ['a:"tab\\there\\u0041"', '(is "a" "tab\\thereA")'],
  ['a:x\\ty', '(is "a" "x\\ty")'],
  // `?` is no wildcard
  ['a:fo?', '(is "a" "fo?")'],
  // spaces around the colon, quoted field names, wildcard field names
  ['a : b', '(is "a" "b")'],
  ['"a b":c', '(is "a b" "c")'],
  ['process.*:x', '(is (wildcard "process." "") "x")'],
  ['*:*', '(is (wildcard "" "") (wildcard "" ""))'],
  // ranges and date math
  ['@timestamp < now-1d/d', '(lt "@timestamp" "now-1d/d")'],
  ['@timestamp >= "2020-01-01T00:00:00Z"', '(gte "@timestamp" "2020-01-01T00:00:00Z")'],
  ['@timestamp <= 2020-01-01||+1M/d', '(lte "@timestamp" "2020-01-01||+1M/d")'],
  // value lists with not, nested lists
  ['a:(not b)', '(not (is "a" "b"))'],
  ['a:(b or (c and not d))', '(or (is "a" "b") (and (is "a" "c") (not (is "a" "d"))))'],
  ['a:( b )', '(is "a" "b")'],
  ['a:(x y or "z w")', '(or (is "a" "x y") (is "a" "z w"))'],
  // multi-line (rules' queries span lines)
  ['a:b and\n  (c:d or\n   e:f)\n', '(and (is "a" "b") (or (is "c" "d") (is "e" "f")))'],
];

describe('KQL parser: trees', () => {
  for (const [source, expected] of valid) {
    test(JSON.stringify(source), () => assert.equal(showKql(parseKql(source)), expected));
  }

  test('nodes carry their offsets', () => {
    const q = parseKql('a:b and not c:(d or e)');
    assert.equal(q.kind, 'and');
    if (q.kind !== 'and') return;
    assert.deepEqual([q.start, q.end], [0, 22]);
    const [first, second] = q.children;
    assert.deepEqual([first.start, first.end], [0, 3]);
    assert.deepEqual([second.start, second.end], [8, 22]);
    assert.equal(second.kind, 'not');
    if (first.kind === 'is') assert.deepEqual([first.value.start, first.value.end], [2, 3]);
  });
});

const invalid: [string, string][] = [
  ['a:b )', 'Expected AND, OR, end of input, whitespace but ")" found (1:5)'],
  ['a:(b', 'Expected ")", AND, OR, whitespace but end of input found (1:5)'],
  ['a:"b', 'Expected "\\"" but end of input found (1:5)'],
  ['(a:b', 'Expected ")", AND, OR, whitespace but end of input found (1:5)'],
  // `\ ` is no escape; `not` needs a group after it to be negated twice
  ['a:x\\ or y', 'Expected AND, OR, end of input, whitespace but "\\\\" found (1:4)'],
  ['not not a:b', 'Expected "(", field name, value but "n" found (1:5)'],
  ['"a" b', 'Expected ":", "<", "<=", ">", ">=", AND, OR, end of input, whitespace but "b" found (1:5)'],
  ['a:cannot x', 'Expected AND, OR, end of input, whitespace but "n" found (1:6)'],
  ['a < ', 'Expected literal but end of input found (1:5)'],
  ['a:{b:c', 'Expected "}", AND, OR, whitespace but end of input found (1:7)'],
  ['a:C:\\Windows', 'Expected AND, OR, end of input, whitespace but ":" found (1:4)'],
  ['a:b and\n  c:d )', 'Expected AND, OR, end of input, whitespace but ")" found (2:7)'],
];

describe('KQL parser: syntax errors', () => {
  for (const [source, message] of invalid) {
    test(JSON.stringify(source), () => {
      assert.throws(() => parseKql(source), (err: unknown) => {
        assert.ok(err instanceof KqlSyntaxError);
        assert.ok(err instanceof LookoutError);
        assert.equal(err.code, 'KQL_SYNTAX');
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  test('the error names the rule file and the line in it', () => {
    assert.throws(() => parseKql('a:b and\n c:(d', { file: 'rules/x.toml', line: 10 }), (err: unknown) => {
      assert.ok(err instanceof KqlSyntaxError);
      assert.equal(err.message, 'rules/x.toml:11:6: Expected ")", AND, OR, whitespace but end of input found (11:6)');
      assert.deepEqual(err.location, { file: 'rules/x.toml', line: 11, column: 6 });
      return true;
    });
  });
});
