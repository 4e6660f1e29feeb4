import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileExceptions, type ExceptionItem } from '../../src/exceptions/index.js';
import type { Entry, NestedChild } from '../../src/exceptions/model.js';

const doc = {
  '@timestamp': '2026-11-25T10:00:00Z',
  host: { name: 'WS1', os: { type: 'windows' } },
  process: { pid: 4, name: 'cmd.exe', args: ['cmd.exe', '/c', 'whoami'], executable: 'C:\\Windows\\System32\\cmd.exe', title: 'a-b/(c)+\nd' },
  source: { ip: '10.1.2.3' },
  message: 'User Alice logged on from the VPN',
  file: { Ext: { code_signature: [{ subject_name: 'Microsoft', trusted: false }, { subject_name: 'Evil Corp', trusted: true }] } },
};

const NOW = Date.parse('2026-11-26T00:00:00Z');
const item = (entries: Entry[], extra: Partial<ExceptionItem> = {}): ExceptionItem => ({ source: 't', itemId: 'i', entries, osTypes: [], ...extra });
const VALUES = new Map<string, readonly string[]>([
  ['hosts', ['ws9', 'WS1']], ['nets', ['192.168.0.0/16', '10.0.0.0/8']], ['ranges', ['10.1.2.0-10.1.2.9']],
  ['phrases', ['alice logged']], ['pids', ['4', '8']], ['misses', ['nothing here']], ['badips', ['10.0.0.1', 'not-an-ip']],
]);
const excepts = (items: ExceptionItem[]) => compileExceptions([], items, VALUES).excepts(doc, NOW);

describe('exception entries in memory (Kibana semantics)', () => {
  const cases: [string, Entry, boolean][] = [
    ['match included, equal', { field: 'host.name', operator: 'included', type: 'match', value: 'WS1' }, true],
    ['match is case-sensitive (match_phrase on keyword)', { field: 'host.name', operator: 'included', type: 'match', value: 'ws1' }, false],
    ['match excluded negates', { field: 'host.name', operator: 'excluded', type: 'match', value: 'WS1' }, false],
    ['match excluded on a missing field excepts', { field: 'user.name', operator: 'excluded', type: 'match', value: 'x' }, true],
    ['match on a number', { field: 'process.pid', operator: 'included', type: 'match', value: '4' }, true],
    ['match on any array element', { field: 'process.args', operator: 'included', type: 'match', value: 'whoami' }, true],
    ['match_any, one of', { field: 'process.name', operator: 'included', type: 'match_any', value: ['a.exe', 'cmd.exe'] }, true],
    ['match_any, none', { field: 'process.name', operator: 'included', type: 'match_any', value: ['a.exe', 'b.exe'] }, false],
    ['match_any excluded', { field: 'process.name', operator: 'excluded', type: 'match_any', value: ['a.exe', 'b.exe'] }, true],
    ['wildcard *', { field: 'process.executable', operator: 'included', type: 'wildcard', value: 'C:\\\\Windows\\\\*\\\\cmd.exe' }, true],
    ['wildcard ?', { field: 'process.name', operator: 'included', type: 'wildcard', value: 'cm?.exe' }, true],
    ['wildcard with regular expression characters and a line break', { field: 'process.title', operator: 'included', type: 'wildcard', value: 'a-b/(*)+*d' }, true],
    ['wildcard is case-sensitive', { field: 'process.name', operator: 'included', type: 'wildcard', value: 'CMD*' }, false],
    ['wildcard excluded', { field: 'process.name', operator: 'excluded', type: 'wildcard', value: 'cmd*' }, false],
    ['exists', { field: 'process.pid', operator: 'included', type: 'exists' }, true],
    ['exists, missing', { field: 'user.name', operator: 'included', type: 'exists' }, false],
    ['exists excluded, missing', { field: 'user.name', operator: 'excluded', type: 'exists' }, true],
    ['keyword list', { field: 'host.name', operator: 'included', type: 'list', list: { id: 'hosts', type: 'keyword' } }, true],
    ['keyword list excluded', { field: 'host.name', operator: 'excluded', type: 'list', list: { id: 'hosts', type: 'keyword' } }, false],
    ['ip list with CIDR blocks', { field: 'source.ip', operator: 'included', type: 'list', list: { id: 'nets', type: 'ip' } }, true],
    ['ip_range list a-b', { field: 'source.ip', operator: 'included', type: 'list', list: { id: 'ranges', type: 'ip_range' } }, true],
    ['ip_range list, outside', { field: 'source.ip', operator: 'included', type: 'list', list: { id: 'hosts', type: 'ip_range' } }, false],
    ['text list: every token of a value', { field: 'message', operator: 'included', type: 'list', list: { id: 'phrases', type: 'text' } }, true],
    ['text list: a token missing', { field: 'message', operator: 'included', type: 'list', list: { id: 'misses', type: 'text' } }, false],
    ['long list', { field: 'process.pid', operator: 'included', type: 'list', list: { id: 'pids', type: 'long' } }, true],
    ['nested: entries within one object', { field: 'file.Ext.code_signature', type: 'nested', entries: [
      { field: 'subject_name', operator: 'included', type: 'match', value: 'Evil Corp' }, { field: 'trusted', operator: 'included', type: 'match', value: 'true' }] }, true],
    ['nested: entries across objects do not match', { field: 'file.Ext.code_signature', type: 'nested', entries: [
      { field: 'subject_name', operator: 'included', type: 'match', value: 'Microsoft' }, { field: 'trusted', operator: 'included', type: 'match', value: 'true' }] }, false],
    ['nested with excluded', { field: 'file.Ext.code_signature', type: 'nested', entries: [
      { field: 'subject_name', operator: 'excluded', type: 'match_any', value: ['Microsoft'] }, { field: 'trusted', operator: 'included', type: 'exists' }] }, true],
  ];
  for (const [name, entry, expected] of cases) {
    test(`${name}: ${expected ? 'excepted' : 'kept'}`, () => assert.equal(excepts([item([entry])]), expected));
  }

  test('entries of an item are ANDed', () => {
    const a: Entry = { field: 'host.name', operator: 'included', type: 'match', value: 'WS1' };
    const b: Entry = { field: 'process.name', operator: 'included', type: 'match', value: 'other.exe' };
    assert.equal(excepts([item([a, b])]), false);
    assert.equal(excepts([item([a])]), true);
  });

  test('items are ORed', () => {
    const no: Entry = { field: 'host.name', operator: 'included', type: 'match', value: 'nope' };
    const yes: Entry = { field: 'process.name', operator: 'included', type: 'match', value: 'cmd.exe' };
    assert.equal(excepts([item([no])]), false);
    assert.equal(excepts([item([no]), item([yes])]), true);
  });

  test('os_types: the item also needs host.os.type (or host.os.name.caseless) to be one of them', () => {
    const e: Entry = { field: 'process.name', operator: 'included', type: 'match', value: 'cmd.exe' };
    assert.equal(excepts([item([e], { osTypes: ['windows'] })]), true);
    assert.equal(excepts([item([e], { osTypes: ['linux', 'macos'] })]), false);
    const caseless = { process: { name: 'cmd.exe' }, host: { os: { name: { caseless: 'linux' } } } };
    assert.equal(compileExceptions([], [item([e], { osTypes: ['linux'] })], VALUES).excepts(caseless, NOW), true);
  });

  test('an expired item is not applied; one expiring later is', () => {
    const e: Entry = { field: 'process.name', operator: 'included', type: 'match', value: 'cmd.exe' };
    assert.equal(excepts([item([e], { expiresAt: NOW - 1 })]), false);
    assert.equal(excepts([item([e], { expiresAt: NOW })]), false);
    assert.equal(excepts([item([e], { expiresAt: NOW + 1 })]), true);
  });
});

describe('exceptions in the search', () => {
  const types = new Map<string, ReadonlySet<string>>([
    ['host.name', new Set(['keyword'])], ['message', new Set(['text'])], ['process.pid', new Set(['long'])],
    ['process.name', new Set(['keyword'])], ['file.Ext.code_signature', new Set(['nested'])], ['source.ip', new Set(['ip'])],
    ['file.Ext.code_signature.subject_name', new Set(['keyword'])], ['mixed', new Set(['keyword', 'text'])],
  ]);
  const m = (field: string, value: string): Entry & NestedChild => ({ field, operator: 'included', type: 'match', value });

  test('an item on keyword fields becomes a must_not clause like Kibana\'s', () => {
    const c = compileExceptions([], [item([m('host.name', 'WS1'), { field: 'process.name', operator: 'excluded', type: 'match', value: 'x' }])], VALUES);
    assert.deepEqual(c.mustNot(types), [{ bool: { filter: [{ match_phrase: { 'host.name': 'WS1' } }, { bool: { must_not: [{ match_phrase: { 'process.name': 'x' } }] } }] } }]);
  });

  const inMemoryOnly: [string, Entry[], Partial<ExceptionItem>][] = [
    ['a text field', [m('message', 'alice')], {}],
    ['a field mapped keyword in one index and text in another', [m('mixed', 'a')], {}],
    ['an unmapped field', [m('user.name', 'a')], {}],
    ['a non-number on a long field', [m('process.pid', 'four')], {}],
    ['an item with expire_time', [m('host.name', 'WS1')], { expiresAt: NOW + 1000 }],
    ['a text value list', [{ field: 'host.name', operator: 'included', type: 'list', list: { id: 'phrases', type: 'text' } }], {}],
    ['an ip list with a value that is not an IP', [{ field: 'source.ip', operator: 'included', type: 'list', list: { id: 'badips', type: 'ip' } }], {}],
    ['one inexact entry makes the whole item in memory only', [m('host.name', 'WS1'), m('message', 'x')], {}],
  ];
  for (const [name, entries, extra] of inMemoryOnly) {
    test(`${name} stays out of the search`, () => assert.deepEqual(compileExceptions([], [item(entries, extra)], VALUES).mustNot(types), []));
  }

  test('an ip list of addresses and blocks goes to the search', () => {
    const c = compileExceptions([], [item([{ field: 'source.ip', operator: 'included', type: 'list', list: { id: 'nets', type: 'ip' } }])], VALUES);
    assert.deepEqual(c.mustNot(types), [{ bool: { filter: [{ bool: { should: [{ terms: { 'source.ip': ['192.168.0.0/16', '10.0.0.0/8'] } }], minimum_should_match: 1 } }] } }]);
  });

  test('items past the clause budget are checked in memory only', () => {
    const many = Array.from({ length: 300 }, (_, i) => `v${i}`);
    const items = [0, 1].map(() => item([{ field: 'host.name', operator: 'included', type: 'match_any', value: many }]));
    const c = compileExceptions([], items, VALUES);
    assert.equal(c.mustNot(types).length, 1);
    assert.equal(c.excepts({ host: { name: 'v299' } }, NOW), true);
  });

  test('a nested entry on a nested path becomes a nested query', () => {
    const c = compileExceptions([], [item([{ field: 'file.Ext.code_signature', type: 'nested', entries: [m('subject_name', 'Evil Corp')] }])], VALUES);
    assert.deepEqual(c.mustNot(types), [{ bool: { filter: [{ nested: { path: 'file.Ext.code_signature', query: { bool: { filter: [{ match_phrase: { 'file.Ext.code_signature.subject_name': 'Evil Corp' } }] } }, score_mode: 'none' } }] } }]);
  });
});
