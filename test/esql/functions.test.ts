/**
 * Function table tests. Rows marked "docs" are the documented examples of Elasticsearch's ES|QL
 * function reference (elastic.co/docs/reference/query-languages/esql/functions-operators, the
 * same examples as x-pack/plugin/esql/qa/testFixtures/src/main/resources/*.csv-spec, Elastic
 * License 2.0), rewritten from ROW to a literal in EVAL; the others cover null and multi-values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { value } from './helpers.js';

const cases: [string, Record<string, unknown>, unknown][] = [
  // docs: string-functions (LENGTH, LOCATE, REPLACE, TRIM, SPLIT, CONTAINS, STARTS_WITH)
  ['LOCATE("hello", "ll")', {}, 3],
  ['REPLACE("Hello World", "World", "Universe")', {}, 'Hello Universe'],
  ['TRIM("   some text  ")', {}, 'some text'],
  ['SPLIT("foo;bar;baz;qux;quux;corge", ";")', {}, ['foo', 'bar', 'baz', 'qux', 'quux', 'corge']],
  ['CONTAINS("hello", "ll")', {}, true],
  ['URL_DECODE("https%3A%2F%2Fexample.com%2F%3Fx%3Dfoo%20bar%26y%3Dbaz")', {}, 'https://example.com/?x=foo bar&y=baz'],
  // docs: mv-functions
  ['MV_CONCAT(["foo", "zoo", "bar"], ", ")', {}, 'foo, zoo, bar'],
  ['MV_DEDUPE(["foo", "foo", "bar", "foo"])', {}, ['foo', 'bar']],
  ['MV_FIRST(SPLIT("foo;bar;baz", ";"))', {}, 'foo'],
  ['MV_LAST(SPLIT("foo;bar;baz", ";"))', {}, 'baz'],
  ['MV_MIN([2, 1])', {}, 1],
  ['MV_MIN(["foo", "bar"])', {}, 'bar'],
  ['MV_COUNT(["foo", "zoo", "bar"])', {}, 3],
  ['MV_SLICE([1, 2, 2, 3], 1)', {}, 2],
  ['MV_SLICE([1, 2, 2, 3], 2, 3)', {}, [2, 3]],
  ['MV_SLICE([1, 2, 2, 3], -2)', {}, 2],
  ['MV_SLICE([1, 2, 2, 3], -3, -1)', {}, [2, 2, 3]],
  // docs: type conversion
  ['TO_LONG("2147483648")', {}, 2147483648],
  ['TO_LONG("2147483648.2")', {}, 2147483648],
  ['TO_LONG("foo")', {}, null],
  ['TO_INTEGER([5013792, 2147483647, 501379200000])', {}, [5013792, 2147483647]],
  ['TO_DOUBLE("5.20128E11")', {}, 520128000000],
  ['TO_IP("1.1.1.1")', {}, '1.1.1.1'],
  ['TO_IP("foo")', {}, null],
  // docs: date-time
  ['DATE_DIFF("microseconds", TO_DATETIME("2023-12-02T11:00:00.000Z"), TO_DATETIME("2023-12-02T11:00:00.001Z"))', {}, 1000],
  ['DATE_DIFF("month", TO_DATETIME("2023-12-31T23:59:59.999Z"), TO_DATETIME("2024-01-01T00:00:00.000Z"))', {}, 0],
  ['DATE_DIFF("year", TO_DATETIME("2023-12-31T23:59:59.999Z"), TO_DATETIME("2024-01-01T00:00:00.000Z"))', {}, 0],
  ['DATE_DIFF("year", "2023-12-31T23:59:59.999Z", "2024-01-01T00:00:00.000Z")', {}, 0],
  ['DATE_DIFF("year", "2023-12-31T23:59:59.999Z", "2024-12-31T23:59:59.999")', {}, 1],
  ['DATE_DIFF("year", "2024-12-31T23:59:59.999", "2024-12-31T23:59:59.999")', {}, 0],
  ['DATE_TRUNC(1 year, TO_DATETIME("1985-11-21T10:12:00.000Z"))', {}, '1985-01-01T00:00:00.000Z'],
  ['DATE_TRUNC(1 hour, @timestamp)', { '@timestamp': '2024-05-01T10:42:13.123Z' }, '2024-05-01T10:00:00.000Z'],
  ['DATE_TRUNC(5m, @timestamp)', { '@timestamp': '2024-05-01T10:42:13.123Z' }, '2024-05-01T10:40:00.000Z'],
  ['DATE_DIFF("minute", @timestamp, NOW())', { '@timestamp': '2024-05-01T11:30:00Z' }, 30],
  ['NOW() - 1 hour', {}, '2024-05-01T11:00:00.000Z'],
  // docs: ip functions
  ['CIDR_MATCH(TO_IP("127.0.0.2"), "127.0.0.2/32", "127.0.0.3/32")', {}, true],
  ['CIDR_MATCH(ip, "10.0.0.0/8", "FE80::/10")', { ip: 'fe80::1' }, true],
  ['CIDR_MATCH(ip, "10.0.0.0/8")', { ip: '11.0.0.1' }, false],
  // conditional
  ['COALESCE(a, b)', { b: 'b' }, 'b'],
  ['CASE(x == 1, "one", x == 2, "two", "many")', { x: 2 }, 'two'],
  ['CASE(x == 1, "one", "many")', {}, 'many'],
  ['CASE(x == 1, "one")', { x: 3 }, null],
  ['CASE(x == 1, "one", "many")', { x: [1, 2] }, 'many'],
  // null propagation and multi-values
  ['TO_LOWER(a)', {}, null],
  ['TO_LOWER(a)', { a: ['A', 'B'] }, ['a', 'b']],
  ['CONCAT(a, "x")', { a: ['A', 'B'] }, null],
  ['CONCAT(a, b)', { a: 'A' }, null],
  ['CONCAT("a", "-", "b")', {}, 'a-b'],
  ['LENGTH(a)', { a: 'héllo' }, 5],
  ['STARTS_WITH(a, "C:")', { a: 'C:\\x' }, true],
  ['TO_STRING(a)', { a: [1, 2] }, ['1', '2']],
  ['TO_UPPER("abc")', {}, 'ABC'],
  ['JSON_EXTRACT(j, "a.b")', { j: '{"a":{"b":"c"}}' }, 'c'],
  ['JSON_EXTRACT(j, "$.a[1]")', { j: '{"a":[1,{"x":2}]}' }, '{"x":2}'],
  ['JSON_EXTRACT(j, "missing")', { j: '{"a":1}' }, null],
  ['MV_INTERSECTION(["a", "b", "c"], ["c", "a", "d"])', {}, ['a', 'c']],
  ['MV_CONTAINS(["a", "b", "c"], ["a", "c"])', {}, true],
  ['MV_CONTAINS(["a", "b"], "d")', {}, false],
  ['MV_CONTAINS(["a", "b"], x)', {}, true],
  ['REPLACE(a, """(?i)secret=\\S+""", "secret=<REDACTED>")', { a: 'SECRET=abc d' }, 'secret=<REDACTED> d'],
  ['REPLACE(a, "(\\\\w+)@", "$1 at ")', { a: 'bob@x' }, 'bob at x'],
  ['ROUND(3.14159, 2)', {}, 3.14],
  ['5 / 2', {}, 2],
  ['5 / 2.0', {}, 2.5],
  ['5 % 3', {}, 2],
  ['1 / 0', {}, null],
  ['a + 1', { a: [1, 2] }, null],
  ['"10"::long + 1', {}, 11],
  ['SPACE(3)', {}, '   '],
  // docs: TO_LOWER of a multi-value; MV_CONTAINS
  ['TO_LOWER(["Some", "Text"])', {}, ['some', 'text']],
  ['MV_CONTAINS(["a", "b", "c"], "a")', {}, true],
  ['MV_CONTAINS(["a", "b", "c"], ["a", "c"])', {}, true],
  ['MV_CONTAINS(["a", "c"], ["a", "b", "c"])', {}, false],
  // MATCH and `:`: words of the standard analyzer, fuzziness as Lucene's fuzzy query
  ['MATCH(m, "rahc|metsys")', { m: 'Invoke metsys now' }, true],
  ['m : "rahc|metsys"', { m: 'invoke system now' }, false],
  ['MATCH(p, "svchost.exe", { "fuzziness": 1, "max_expansions": 10 })', { p: 'svch0st.exe' }, true],
  ['MATCH(p, "svchost.exe", { "fuzziness": 1 })', { p: 'svhcost.exe' }, true],
  ['MATCH(p, "svchost.exe", { "fuzziness": 1 })', { p: 'scvh0st.exe' }, false],
  ['MATCH(p, "svchost.exe")', { p: 'svch0st.exe' }, false],
  ['MATCH(m::STRING, "refusing to allow")', { m: 'Refusing to create' }, true],
  ['TO_STRING(1.0)', {}, '1.0'],
  ['TO_STRING(x * 2.5)', { x: 2 }, '5.0'],
  // geo: ST_X / ST_Y of a _source {lat, lon}, TO_GEOPOINT of WKT
  ['ST_X(source.geo.location)', { source: { geo: { location: { lat: 55.6, lon: 12.5 } } } }, 12.5],
  ['ST_Y(source.geo.location)', { source: { geo: { location: { lat: 55.6, lon: 12.5 } } } }, 55.6],
  ['TO_GEOPOINT("POINT(12.5 55.6)")', {}, 'POINT (12.5 55.6)'],
];

// Elasticsearch reads the docs example's points from doc values, quantized to about 1e-7 degrees:
// from the exact coordinates the distance differs by about a millimetre.
test('ST_DISTANCE: docs example (CPH airport to Copenhagen, 7339.573896618216 m, to within 1 cm)', () => {
  const d = value('ST_DISTANCE(TO_GEOPOINT("POINT(12.6493508684508 55.6285017221528)"), TO_GEOPOINT("POINT(12.5683 55.6761)"))');
  assert.ok(typeof d === 'number' && Math.abs(d - 7339.573896618216) < 0.01, String(d));
});

for (const [expr, source, expected] of cases) {
  test(`${expr} over ${JSON.stringify(source)} is ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(value(expr, source), expected);
  });
}
