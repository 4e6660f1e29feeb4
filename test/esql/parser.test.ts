import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEsql } from '../../src/esql/compile.js';
import { parseEsql } from '../../src/esql/parser.js';
import { EsqlSyntaxError, EsqlVerificationError, LookoutError } from '../../src/errors.js';

/** A compact rendering of an expression tree, for table tests. */
function show(e: unknown): string {
  const x = e as Record<string, unknown>;
  switch (x.kind) {
    case 'literal': return JSON.stringify(x.value);
    case 'field': return String(x.name);
    case 'timespan': return `${x.amount}${x.unit}`;
    case 'call': return `${x.name}(${x.star ? '*' : (x.args as unknown[]).map(show).join(', ')})`;
    case 'compare': case 'arith': return `(${show(x.left)} ${x.op} ${show(x.right)})`;
    case 'and': case 'or': return `(${show(x.left)} ${x.kind} ${show(x.right)})`;
    case 'not': return `not ${show(x.operand)}`;
    case 'neg': return `-${show(x.operand)}`;
    case 'like': return `(${show(x.value)} ${x.negated ? 'not ' : ''}${x.regex ? 'rlike' : 'like'} ${JSON.stringify(x.patterns)})`;
    case 'in': return `(${show(x.value)} ${x.negated ? 'not ' : ''}in [${(x.list as unknown[]).map(show).join(', ')}])`;
    case 'isnull': return `(${show(x.operand)} is ${x.negated ? 'not ' : ''}null)`;
    case 'cast': return `${show(x.operand)}::${x.type}`;
    default: return '?';
  }
}

function where(q: string): string {
  const c = parseEsql(`FROM x | WHERE ${q}`).commands[1];
  assert.equal(c.kind, 'where');
  return c.kind === 'where' ? show(c.condition) : '';
}

const expressions: [string, string][] = [
  ['a == 1 and b != "x" or not c', '(((a == 1) and (b != "x")) or not c)'],
  ['a + 2 * 3 > -b', '((a + (2 * 3)) > -b)'],
  ['not message like "Web*"', 'not (message like ["Web*"])'],
  ['x not like ("a*", "b*")', '(x not like ["a*","b*"])'],
  ['x rlike """a\\d+"""', '(x rlike ["a\\\\d+"])'],
  ['not to_string(source.ip) in ("127.0.0.1", "::1")', 'not (TO_STRING(source.ip) in ["127.0.0.1", "::1"])'],
  ['x is not null and y IS NULL', '((x is not null) and (y is null))'],
  ['`a b`.c == "\\t\\"q\\\\"', '(a b.c == "\\t\\"q\\\\")'],
  ['source.as.number > 3', '(source.as.number > 3)'],
  ['@timestamp > now() - 1 hour', '(@timestamp > (NOW() - 1hour))'],
  ['DATE_TRUNC(24 hours, @timestamp) == DATE_TRUNC(5m, t)', '(DATE_TRUNC(24hour, @timestamp) == DATE_TRUNC(5minute, t))'],
  ['x::long >= 1.5e3', '(x::long >= 1500)'],
  ['KQL("""a : "b" """)', 'KQL("a : \\"b\\" ")'],
  ['count(*) > 0', '(COUNT(*) > 0)'],
  ['f : "words here"', 'MATCH(f, "words here")'],
];

describe('ES|QL parser', () => {
  for (const [q, expected] of expressions) {
    test(`WHERE ${q}`, () => assert.equal(where(q), expected));
  }

  test('commands: FROM with patterns and METADATA, STATS BY, SORT, RENAME, DISSECT', () => {
    const q = parseEsql(`from logs-aws.cloudtrail*, .alerts-security.* metadata _id, _version, _index
      // a comment | with a pipe
      | stats Esql.c = count(*), values(x) where x > 1 by host.name, d = DATE_TRUNC(1 day, @timestamp)
      | inline stats m = max(Esql.c)
      | sort Esql.c desc nulls last, host.name
      | rename host.name as h, k = Esql.c
      | dissect msg "%{a} %{b}" append_separator = "-"
      | mv_expand h | keep h, Esql.* | drop k | limit 10`);
    const [from, stats, inline, sort, rename, dissect, mvx, keep, drop, limit] = q.commands;
    assert.deepEqual(from.kind === 'from' && [from.sources, from.metadata], [['logs-aws.cloudtrail*', '.alerts-security.*'], ['_id', '_version', '_index']]);
    assert.ok(stats.kind === 'stats' && !stats.inline);
    if (stats.kind === 'stats') {
      assert.deepEqual(stats.aggregates.map((a) => [a.name, a.filter !== undefined]), [['Esql.c', false], ['values(x)', true]]);
      assert.deepEqual(stats.groups.map((g) => g.name), ['host.name', 'd']);
    }
    assert.ok(inline.kind === 'stats' && inline.inline);
    assert.deepEqual(sort.kind === 'sort' && sort.keys.map((k) => [k.descending, k.nullsFirst]), [[true, false], [false, false]]);
    assert.deepEqual(rename.kind === 'rename' && rename.pairs, [{ from: 'host.name', to: 'h' }, { from: 'Esql.c', to: 'k' }]);
    assert.deepEqual(dissect.kind === 'dissect' && [dissect.pattern, dissect.appendSeparator], ['%{a} %{b}', '-']);
    assert.deepEqual([mvx.kind, keep.kind === 'keep' && keep.patterns, drop.kind, limit.kind === 'limit' && limit.count], ['mv_expand', ['h', 'Esql.*'], 'drop', 10]);
  });

  const errors: [string, string][] = [
    ['', 'Empty query: expected a FROM command (1:1)'],
    ['WHERE a', "Expected FROM as the first command but found 'WHERE' (1:1)"],
    ['FROM x | WHERE a ==', 'Expected an expression but found end of query (1:20)'],
    ['FROM x\n| WHERE a == "b', 'Unterminated string (2:14)'],
    ['FROM x | WHERE a == "\\d"', "Invalid escape sequence '\\d' in string: only \\t \\n \\r \\\" \\\\ are allowed (1:22)"],
    ['FROM x | FOO a', "Unknown command 'FOO' (1:10)"],
    ['FROM x | WHERE a IN 1', "Expected '(' after IN but found '1' (1:21)"],
    ['FROM x | LIMIT a', "Expected an integer after LIMIT but found 'a' (1:16)"],
    ['FROM x | WHERE f(a b)', "Expected ')' or ',' in the argument list but found 'b' (1:20)"],
    ['FROM x | WHERE a == 1 b', "Expected '|' or the end of the query but found 'b' (1:23)"],
    ['FROM x | RENAME a b', "Expected AS but found 'b' (1:19)"],
    ['FROM x /* open', 'Unterminated comment (1:8)'],
  ];
  for (const [q, message] of errors) {
    test(`syntax error: ${JSON.stringify(q)}`, () => {
      assert.throws(() => parseEsql(q), (err: unknown) => err instanceof EsqlSyntaxError && err instanceof LookoutError && err.message === message);
    });
  }

  const refused: [string, string][] = [
    ['FROM x | COMPLETION r = p WITH { "inference_id": "x" }', 'not supported: COMPLETION (1:10)'],
    ['FROM x | LOOKUP JOIN t ON k', 'not supported: LOOKUP JOIN (1:10)'],
    ['FROM x | EVAL p = ST_INTERSECTS(s, t)', 'not supported: ST_INTERSECTS (1:19)'],
    ['FROM x | EVAL p = FOO_BAR(s)', 'not supported: FOO_BAR (unknown function) (1:19)'],
    ['FROM x | WHERE KQL("a:b")', 'not supported: KQL (no KQL evaluator was given to the ES|QL compiler) (1:16)'],
    ['FROM x | EVAL c = COUNT(*)', 'aggregate function COUNT is only allowed in STATS (1:19)'],
    ['FROM x | STATS c = x', 'expected an aggregate function in STATS: x (1:16)'],
    ['FROM x | STATS c = COUNT(*) BY k | EVAL d = c + 1, e = d * 2 | WHERE n > 1', 'Unknown column [n] (1:70)'],
    ['FROM x | STATS c = COUNT(*) BY k | KEEP c | EVAL d = k', 'Unknown column [k] (1:54)'],
    ['FROM x | STATS c = COUNT(*) BY k | RENAME k AS h | SORT k', 'Unknown column [k] (1:57)'],
    ['FROM x | EVAL a = CONCAT()', 'CONCAT takes at least 2 arguments, got 0 (1:19)'],
    ['FROM x | GROK a "%{FOO:b}"', 'not supported: grok pattern %{FOO} (1:17)'],
    ['FROM x | WHERE a RLIKE ".*a&.*b"', "Lucene's intersection operator '&' between two infinite languages is not supported in RLIKE (1:16)"],
    ['FROM x | WHERE a RLIKE "~a"', "Lucene's complement operator '~' is not supported in RLIKE (1:16)"],
    ['FROM x | WHERE a RLIKE "(a"', `invalid RLIKE pattern "(a": expected ')' at position 2 (1:16)`],
  ];
  for (const [q, message] of refused) {
    test(`refused: ${q}`, () => {
      assert.throws(() => compileEsql(q), (err: unknown) => err instanceof EsqlVerificationError && err.message === message);
    });
  }
});
