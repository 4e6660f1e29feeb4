/**
 * EQL to query DSL (eql/pushdown.ts) for fields no target index maps: absent from every event,
 * so a comparison on one is decided as the evaluator decides it for a missing field, and a rule
 * that cannot match selects nothing. Each row is also checked against the evaluator on events
 * with and without the field. (The property test in test/integration/pushdown-property.test.ts
 * checks soundness on the real server, with such a field among its random conditions.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { eqlPushdown } from '../../src/eql/pushdown.js';
import { Pushdown } from '../../src/search/pushdown.js';

// `process.args`, `process.pe.original_file_name`, `user.name` and `absent.key` are mapped by no index.
const types = new Map([
  ['event.category', new Set(['keyword'])],
  ['process.name', new Set(['keyword'])],
  ['host.id', new Set(['keyword'])],
]);
const pd = new Pushdown(types);
const category = { term: { 'event.category': 'process' } };
const name = { term: { 'process.name': { value: 'cmd.exe', case_insensitive: true } } };
const NEVER = { match_none: {} };

describe('pushdown of conditions on fields no index maps', () => {
  const cases: [string, unknown][] = [
    // Never true of a missing field:
    ['process.args : "x"', NEVER],
    ['process.args : "x*"', NEVER],
    ['process.args like "x"', NEVER],
    ['process.args regex "x.*"', NEVER],
    ['process.args == "x"', NEVER],
    ['process.args < 3', NEVER],
    ['process.args in ("a", "b")', NEVER],
    ['process.args != null', NEVER],
    ['process.name : "cmd.exe" and process.args : "x"', NEVER],
    // Always true of it: the stage keeps only its category.
    ['process.args != "x"', category],
    ['not process.args : "x"', category],
    ['process.args not in ("a", "b")', category],
    ['process.args in ("a", null)', category],
    ['process.args == null', category],
    ['process.args : "x" or true', category],
    // Folded inside and/or: the other side is pushed as it would be alone.
    ['process.name : "cmd.exe" or ?process.pe.original_file_name == "cmd.exe"', { bool: { filter: [category, name] } }],
    ['process.name : "cmd.exe" and not ?process.pe.original_file_name in~ ("a")', { bool: { filter: [category, name] } }],
    ['not (process.name : "cmd.exe" or process.args : "x")', { bool: { filter: [category, { bool: { must_not: [name] } }] } }],
    // What is not decided by the missing field stays unconstrained, as before.
    ['startsWith(process.args, "x")', category],
  ];
  for (const [condition, expected] of cases) {
    test(`process where ${condition}`, () => {
      const q = compileEql(`process where ${condition}`);
      assert.deepEqual(eqlPushdown(pd, q), expected);
      if (q.kind !== 'event') throw new Error('an event query');
      // The evaluator agrees: an event without the field is accepted only where the query could select it.
      for (const e of [{ event: { category: 'process' }, process: { name: 'cmd.exe' } }, { event: { category: 'process' }, process: { name: 'other' } }]) {
        if (q.stage.matches(e)) assert.notDeepEqual(expected, NEVER, `${condition} accepts ${JSON.stringify(e)}`);
      }
    });
  }

  test('a sequence or sample with a stage that can never match selects nothing; a missing-event stage or until that cannot match is left out', () => {
    const stage = (cond: string) => `[process where ${cond}]`;
    const a = { bool: { filter: [category, name, { exists: { field: 'host.id' } }] } };
    assert.deepEqual(eqlPushdown(pd, compileEql(`sequence by host.id ${stage('process.name : "cmd.exe"')} ${stage('process.args : "x"')}`)), NEVER);
    assert.deepEqual(eqlPushdown(pd, compileEql(`sample by host.id ${stage('process.name : "cmd.exe"')} ${stage('process.args : "x"')}`)), NEVER);
    const two = `sequence by host.id ${stage('process.name : "cmd.exe"')} ${stage('process.name : "cmd.exe"')}`;
    assert.deepEqual(eqlPushdown(pd, compileEql(`${two} until ${stage('process.args : "x"')}`)), eqlPushdown(pd, compileEql(two)));
    assert.deepEqual(eqlPushdown(pd, compileEql(`sequence by host.id with maxspan=1m ${stage('process.name : "cmd.exe"')} ![process where process.args : "x"]`)), a);
    // A non-optional join key no index maps is null in every event, which excludes it.
    assert.deepEqual(eqlPushdown(pd, compileEql(`sequence by absent.key ${stage('true')} ${stage('true')}`)), NEVER);
    assert.deepEqual(eqlPushdown(pd, compileEql(`sequence by host.id ${stage('process.name : "cmd.exe"')} by user.name ${stage('true')} by user.name`)), NEVER);
  });

  test('a field under a flattened parent may hold values: not decided', () => {
    const flat = new Pushdown(new Map([...types, ['labels', new Set(['flattened'])]]));
    assert.deepEqual(eqlPushdown(flat, compileEql('process where labels.x : "y"')), category);
  });
});
