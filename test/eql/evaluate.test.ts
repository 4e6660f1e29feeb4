import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { EqlVerificationError } from '../../src/errors.js';

/** Does `process where <cond>` accept the document? (category is added to the document.) */
function accepts(cond: string, doc: Record<string, unknown>): boolean {
  const q = compileEql(`process where ${cond}`);
  assert.equal(q.kind, 'event');
  if (q.kind !== 'event') return false;
  return q.stage.matches({ event: { category: ['process'] }, ...doc });
}

const cases: [string, Record<string, unknown>, boolean][] = [
  // == is case-sensitive and exact
  ['process.name == "cmd.exe"', { process: { name: 'cmd.exe' } }, true],
  ['process.name == "cmd.exe"', { process: { name: 'CMD.EXE' } }, false],
  ['process.name == "cmd*"', { process: { name: 'cmd.exe' } }, false],
  // : is case-insensitive, with * and ? wildcards and lists
  ['process.name : "CMD.exe"', { process: { name: 'cmd.EXE' } }, true],
  ['process.name : "cmd*"', { process: { name: 'CMD.exe' } }, true],
  ['process.name : "c?d.exe"', { process: { name: 'cmd.exe' } }, true],
  ['process.name : "c?d.exe"', { process: { name: 'cmmd.exe' } }, false],
  ['process.name : ("a.exe", "b.exe")', { process: { name: 'B.EXE' } }, true],
  ['process.executable : "?:\\\\Windows\\\\System32\\\\conhost.exe"', { process: { executable: 'C:\\Windows\\System32\\conhost.exe' } }, true],
  ['process.executable : "?:\\\\Windows\\\\System32\\\\conhost.exe"', { process: { executable: 'C:\\Windows\\Temp\\conhost.exe' } }, false],
  // like is case-sensitive with wildcards, like~ not
  ['process.name like "cmd*"', { process: { name: 'CMD.exe' } }, false],
  ['process.name like~ "cmd*"', { process: { name: 'CMD.exe' } }, true],
  // in / in~ / not in: no wildcards
  ['destination.port in (5985, 5986)', { destination: { port: 5986 } }, true],
  ['destination.port in (5985, 5986)', { destination: { port: 443 } }, false],
  ['destination.port in (5985, 5986)', { destination: { port: '5985' } }, true],
  ['process.name in ("cmd.exe")', { process: { name: 'CMD.exe' } }, false],
  ['process.name in~ ("cmd.exe")', { process: { name: 'CMD.exe' } }, true],
  ['process.name in~ ("c*")', { process: { name: 'cmd.exe' } }, false],
  ['process.name not in ("cmd.exe")', { process: { name: 'x.exe' } }, true],
  ['process.name not in ("cmd.exe")', {}, true],
  // numbers, and strings holding numbers (what a numeric mapping indexes)
  ['process.pid == 4', { process: { pid: 4 } }, true],
  ['process.pid == 4', { process: { pid: '4' } }, true],
  ['process.pid == 4', { process: { pid: 'four' } }, false],
  ['process.pid > 3', { process: { pid: 4 } }, true],
  ['process.pid <= 3', { process: { pid: 4 } }, false],
  ['process.name < "b"', { process: { name: 'a' } }, true],
  ['process.name < "B"', { process: { name: 'a' } }, false],
  // arrays: any value
  ['event.type == "start"', { event: { category: ['process'], type: ['info', 'start'] } }, true],
  ['event.type == "start"', { event: { category: ['process'], type: 'start' } }, true],
  ['event.type : "END"', { event: { category: ['process'], type: ['end'] } }, true],
  // missing fields: comparisons false, != and not true (query DSL's must_not)
  ['source.ip == "1.2.3.4"', {}, false],
  ['source.ip != "1.2.3.4"', {}, true],
  ['not process.name : "x"', {}, true],
  ['source.ip != "127.0.0.1"', { source: { ip: ['127.0.0.1', '10.0.0.1'] } }, false],
  ['process.pid > 3', {}, false],
  // null
  ['user.name == null', {}, true],
  ['user.name == null', { user: { name: null } }, true],
  ['user.name != null', { user: { name: 'x' } }, true],
  ['user.name != null', {}, false],
  // == null / != null on any expression test whether its value is null (Elasticsearch's null semantics)
  ['indexOf(file.name, "x") != null', { file: { name: 'axb' } }, true],
  ['indexOf(file.name, "x") != null', { file: { name: 'abc' } }, false],
  ['indexOf(file.name, "x") == null', { file: { name: 'abc' } }, true],
  ['indexOf(file.name, "x") == null', {}, true],
  ['concat(a, b) == null', { a: 'x' }, true],
  ['concat(a, b) == null', { a: 'x', b: 'y' }, false],
  ['concat(a, b) != null', { a: 'x', b: 'y' }, true],
  ['null == concat(a, b)', { a: 'x' }, true],
  ['null == (exit_code > -1)', {}, true],
  ['null == (exit_code > -1)', { exit_code: 0 }, false],
  ['null != (exit_code > -1)', { exit_code: 0 }, true],
  ['(exit_code > -1) == null', { exit_code: -5 }, false],
  ['(a + 1) == null', {}, true],
  ['(a + 1) != null', { a: 1 }, true],
  ['length(a) < null', { a: 'x' }, false],
  // ?x == ?y: allowed for optional fields (Elasticsearch folds unmapped ones to null)
  ['?x == ?y', {}, true],
  ['?x != ?y', {}, false],
  ['?x == ?y', { x: 1 }, false],
  ['?x != ?y', { x: 1 }, true],
  ['?x == ?y', { x: 'a', y: 'a' }, true],
  ['?x < ?y', {}, false],
  // dotted keys and nesting mixed
  ['process.parent.name == "winrshost.exe"', { 'process.parent.name': 'winrshost.exe' }, true],
  ['process.parent.name == "winrshost.exe"', { process: { 'parent.name': 'winrshost.exe' } }, true],
  // booleans and logic
  ['a == true', { a: true }, true],
  ['a == true', { a: 'true' }, true],
  ['a == 1 and (b == 2 or c == 3)', { a: 1, c: 3 }, true],
  ['a == 1 and (b == 2 or c == 3)', { a: 1 }, false],
  ['not (a == 1 or b == 2)', { a: 2, b: 3 }, true],
];

describe('EQL evaluation', () => {
  for (const [cond, doc, expected] of cases) {
    test(`${cond} on ${JSON.stringify(doc)} is ${expected}`, () => {
      assert.equal(accepts(cond, doc), expected);
    });
  }

  test('category must match; any matches every category', () => {
    const q = compileEql('network where true');
    assert.equal(q.kind === 'event' && q.stage.matches({ event: { category: ['process'] } }), false);
    assert.equal(q.kind === 'event' && q.stage.matches({ event: { category: ['network'] } }), true);
    const anyq = compileEql('any where true');
    assert.equal(anyq.kind === 'event' && anyq.stage.matches({}), true);
  });

  test('event_category_override reads another field', () => {
    const q = compileEql('process where true', { categoryField: 'winlog.category' });
    assert.equal(q.kind === 'event' && q.stage.matches({ winlog: { category: 'process' } }), true);
  });

  test('what cannot run is refused at compile time with its position', () => {
    for (const [query, message] of [
      ['process where a == b', "Comparison '==': comparing a field with a field is not supported; compare with a value (1:15)"],
      ['process where ?a == b', "Comparison '==': comparing a field with a field is not supported; compare with a value (1:15)"],
      ['process where length(a) == length(b)', "Comparison '==': comparing a field with a field is not supported; compare with a value (1:15)"],
      ['process where frobnicate(a) > 3', 'Unknown function frobnicate() (1:15)'],
      ['process where length(a, b) > 3', 'Function length() takes 1 argument(s), found 2 (1:15)'],
      ['process where length~(a) > 3', 'Function length() has no case-insensitive (~) form (1:15)'],
      ['process where substring(a) == "x"', 'Function substring() takes 2 to 3 argument(s), found 1 (1:15)'],
      ['process where a regex "a~b"', "Lucene's complement operator '~' is not supported in regex (1:23)"],
      ['process where a regex "(ab"', 'invalid regex "(ab": missing closing ) (1:23)'],
      ['sequence [a where true] ![b where true]', 'Missing events (![...]) need a maxspan (1:25)'],
      ['sample [a where true] [b where true]', 'sample needs at least one join key (sample by ...) (1:1)'],
      ['process where true | sort a', "Unknown pipe 'sort'; expected head or tail (1:20)"],
      ['process where true | head -1', "Pipe 'head' takes one positive whole number (1:20)"],
    ] as const) {
      assert.throws(() => compileEql(query), (err: unknown) => {
        assert.ok(err instanceof EqlVerificationError, `${query}: ${String(err)}`);
        assert.equal(err.message, message, query);
        return true;
      });
    }
  });

  test('fields read by a query are listed', () => {
    const q = compileEql('sequence by host.id [network where source.ip != "x"] [process where process.name : "a"]');
    assert.deepEqual([...q.fields].sort(), ['event.category', 'host.id', 'process.name', 'source.ip']);
  });
});
