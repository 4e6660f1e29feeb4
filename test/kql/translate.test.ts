/**
 * KQL to query DSL, per construct, given field types as `_field_caps` reports them. The
 * expected shapes are those of Kibana's kuery functions (elastic/kibana
 * packages/kbn-es-query/src/kuery/functions/{is,range,and,or,not,nested}.ts and their
 * *.test.ts: e.g. is.test.ts "should return an ES match_all query when a null or undefined
 * field is given" / "exists query" / "should return an ES query_string query using the
 * wildcard field syntax", range.test.ts "should support date fields with time_zone") with the
 * detection engine's options (dateFormatTZ 'Zulu').
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FieldTypes } from '../../src/search/field-caps.js';
import { parseKql } from '../../src/kql/parser.js';
import { toDsl, type KqlDslOptions } from '../../src/kql/translate.js';

const types: FieldTypes = new Map(
  Object.entries({
    'host.name': ['keyword'],
    'process.name': ['keyword'],
    'process.pid': ['long'],
    'process.command_line': ['wildcard'],
    process: ['object'],
    message: ['text'],
    '@timestamp': ['date'],
    'source.ip': ['ip'],
    'dns.resolved': ['boolean'],
    mixed: ['keyword', 'text'],
    partial: ['keyword', 'unmapped'],
    items: ['nested'],
    'items.name': ['keyword'],
    'items.size': ['long'],
  }).map(([k, v]) => [k, new Set(v)]),
);

const should = (...qs: object[]) => ({ bool: { should: qs, minimum_should_match: 1 } });

const cases: [string, object, KqlDslOptions?][] = [
  ['', { match_all: {} }],
  ['*:*', { match_all: {} }],
  // field-less terms
  ['foo', { multi_match: { type: 'best_fields', query: 'foo', lenient: true } }],
  ['"foo bar"', { multi_match: { type: 'phrase', query: 'foo bar', lenient: true } }],
  ['fo*', { query_string: { query: 'fo*' } }],
  ['a.b-c*', { query_string: { query: 'a\\.b\\-c*' } }],
  // `is` by field type
  ['host.name:web-1', should({ term: { 'host.name': { value: 'web-1' } } })],
  ['host.name:"web 1"', should({ term: { 'host.name': { value: 'web 1' } } })],
  ['host.name:web-1', should({ term: { 'host.name': { value: 'web-1', case_insensitive: true } } }), { caseInsensitive: true }],
  ['process.pid:4', should({ match: { 'process.pid': '4' } })],
  ['message:foo bar', should({ match: { message: 'foo bar' } })],
  ['message:"foo bar"', should({ match_phrase: { message: 'foo bar' } })],
  ['process.command_line:x', should({ match: { 'process.command_line': 'x' } })],
  ['mixed:x', should({ match: { mixed: 'x' } })],
  ['partial:x', should({ term: { partial: { value: 'x' } } })],
  ['source.ip:10.0.0.0/8', should({ match: { 'source.ip': '10.0.0.0/8' } })],
  ['dns.resolved:true', should({ match: { 'dns.resolved': true } })],
  ['@timestamp:2020-01-01', should({ range: { '@timestamp': { gte: '2020-01-01', lte: '2020-01-01', time_zone: 'Zulu' } } })],
  ['@timestamp:now-1d', should({ range: { '@timestamp': { gte: 'now-1d', lte: 'now-1d', time_zone: 'UTC' } } }), { timeZone: 'UTC' }],
  // a field the types do not know goes as written, untyped
  ['unknown.field:x', should({ match: { 'unknown.field': 'x' } })],
  ['unknown.field:"x y"', should({ match_phrase: { 'unknown.field': 'x y' } })],
  // wildcards in values: `wildcard` on keyword-only fields, `query_string` elsewhere; `?` escaped
  ['host.name:web*', should({ wildcard: { 'host.name': { value: 'web*' } } })],
  // Kibana's escape class holds the range `+-=`, which takes in digits, `.`, `,`, `/`, `;` too
  ['host.name:*web-1?', should({ wildcard: { 'host.name': { value: '*web\\-\\1\\?' } } })],
  ['host.name:web*', should({ wildcard: { 'host.name': { value: 'web*', case_insensitive: false } } }), { caseInsensitive: false }],
  ['process.command_line:*cmd.exe*', should({ query_string: { fields: ['process.command_line'], query: '*cmd\\.exe*' } })],
  ['message:foo*', should({ query_string: { fields: ['message'], query: 'foo*' } })],
  ['host.name:a\\*b', should({ term: { 'host.name': { value: 'a*b' } } })],
  // exists
  ['host.name:*', should({ exists: { field: 'host.name' } })],
  ['unknown.field:*', should({ exists: { field: 'unknown.field' } })],
  // wildcard field names: every known leaf field they match
  ['process.*:x', should({ match: { 'process.command_line': 'x' } }, { term: { 'process.name': { value: 'x' } } }, { match: { 'process.pid': 'x' } })],
  ['process.n*:*', should({ exists: { field: 'process.name' } })],
  ['items.*:x', should(
    { nested: { path: 'items', query: { term: { 'items.name': { value: 'x' } } }, score_mode: 'none' } },
    { nested: { path: 'items', query: { match: { 'items.size': 'x' } }, score_mode: 'none' } },
  )],
  ['nomatch.*:x', should({ match: { 'nomatch.*': 'x' } })],
  // ranges
  ['process.pid > 4', should({ range: { 'process.pid': { gt: '4' } } })],
  ['process.pid <= 4', should({ range: { 'process.pid': { lte: '4' } } })],
  ['host.name >= m', should({ range: { 'host.name': { gte: 'm' } } })],
  ['@timestamp < now-1d/d', should({ range: { '@timestamp': { lt: 'now-1d/d', time_zone: 'Zulu' } } })],
  ['@timestamp >= "2020-01-01T00:00:00Z"', should({ range: { '@timestamp': { gte: '2020-01-01T00:00:00Z', time_zone: 'Zulu' } } })],
  // boolean structure
  ['host.name:a and process.pid:4', { bool: { filter: [should({ term: { 'host.name': { value: 'a' } } }), should({ match: { 'process.pid': '4' } })] } }],
  ['host.name:a or host.name:b', { bool: { should: [should({ term: { 'host.name': { value: 'a' } } }), should({ term: { 'host.name': { value: 'b' } } })], minimum_should_match: 1 } }],
  ['not host.name:a', { bool: { must_not: should({ term: { 'host.name': { value: 'a' } } }) } }],
  ['host.name:(a or not b)', { bool: { should: [
    should({ term: { 'host.name': { value: 'a' } } }),
    { bool: { must_not: should({ term: { 'host.name': { value: 'b' } } }) } },
  ], minimum_should_match: 1 } }],
  // nested: inner names are prefixed with the path
  ['items:{ name:x and size > 2 }', { nested: { path: 'items', score_mode: 'none', query: { bool: { filter: [
    should({ term: { 'items.name': { value: 'x' } } }),
    should({ range: { 'items.size': { gt: '2' } } }),
  ] } } } }],
  ['items:{ name:x }', { nested: { path: 'items', score_mode: 'none', ignore_unmapped: true, query: should({ term: { 'items.name': { value: 'x' } } }) } }, { nestedIgnoreUnmapped: true }],
  ['items.*:x', should(
    { nested: { path: 'items', query: { term: { 'items.name': { value: 'x' } } }, score_mode: 'none', ignore_unmapped: true } },
    { nested: { path: 'items', query: { match: { 'items.size': 'x' } }, score_mode: 'none', ignore_unmapped: true } },
  ), { nestedIgnoreUnmapped: true }],
  ['a:{ b:{ c:x } }', { nested: { path: 'a', score_mode: 'none', query: { nested: { path: 'a.b', score_mode: 'none', query: should({ match: { 'a.b.c': 'x' } }) } } } }],
];

describe('KQL to query DSL', () => {
  for (const [source, expected, options] of cases) {
    test(`${JSON.stringify(source)}${options ? ` ${JSON.stringify(options)}` : ''}`, () => {
      assert.deepEqual(toDsl(parseKql(source), types, options), expected);
    });
  }
});
