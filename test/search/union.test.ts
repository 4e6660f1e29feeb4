/** The union of pushed-down queries in a shared read: smaller, and the same documents. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCostly, packReads, unionOf, widen } from '../../src/search/union.js';

const term = (field: string, value: unknown) => ({ term: { [field]: value } });
const all = (...filter: unknown[]) => ({ bool: { filter } });
const any = (...should: unknown[]) => ({ bool: { should, minimum_should_match: 1 } });

describe('union of pushed-down queries', () => {
  const network = all(term('event.category', 'network'), all(term('process.pid', 4), term('destination.port', 5985)));
  const process = all(term('event.category', 'process'), all(term('process.parent.name', 'winrshost.exe')));
  const narrower = all(term('event.category', 'process'), all(term('process.parent.name', 'winrshost.exe'), term('process.name', 'cmd.exe')));

  test('identical alternatives are merged, narrower copies dropped, others kept', () => {
    const rule = any(network, process);
    const variant = any(network, narrower);
    assert.deepEqual(unionOf([rule, variant, variant, rule]), any(network, process));
    // Key order does not make two queries different.
    const a = all({ term: { 'network.direction': { value: 'ingress', case_insensitive: true } } });
    const b = all({ term: { 'network.direction': { case_insensitive: true, value: 'ingress' } } });
    assert.deepEqual(unionOf([a, b]), a);
    const file = all(term('event.category', 'file'));
    assert.deepEqual(unionOf([variant, file]), any(network, narrower, file));
  });

  test('an alternative that cannot match (match_none among its conditions) is left out; only such: nothing', () => {
    const never = all(term('event.category', 'process'), { match_none: {} });
    assert.deepEqual(unionOf([network, never, any(process, all(never, term('a', 1)))]), any(network, process));
    assert.deepEqual(unionOf([never, { match_none: {} }]), { match_none: {} });
  });

  test('a rule that reads everything makes the union read everything; one query is itself', () => {
    assert.equal(unionOf([network, null]), null);
    assert.equal(unionOf([network]), network);
  });

  test('a must_not or should inside an alternative is not taken apart', () => {
    const not = all(term('event.category', 'process'), { bool: { must_not: [term('process.name', 'conhost.exe')] } });
    const plain = all(term('event.category', 'process'));
    // `not` is narrower than `plain` (plain's conditions are a subset of its own).
    assert.deepEqual(unionOf([not, plain]), plain);
    const either = all(term('event.category', 'process'), any(term('a', 1), term('b', 2)));
    assert.deepEqual(unionOf([either, all(term('event.category', 'process'), term('a', 1))]), any(either, all(term('event.category', 'process'), term('a', 1))));
  });

  test('beyond the clause limit the window is read unfiltered', () => {
    const many = Array.from({ length: 1100 }, (_, i) => all(term('event.category', 'process'), term('process.pid', i)));
    assert.equal(unionOf(many), null);
  });
});

describe('packing reads under the clause limit', () => {
  const wide = (tag: string, n: number) => all(term('event.category', 'process'), any(...Array.from({ length: n }, (_, i) => ({ wildcard: { 'process.name': `${tag}${i}*` } }))));
  test('first fit: queries join the first read their union fits in', () => {
    const packs = packReads([wide('a', 400), wide('b', 400), wide('c', 400), wide('d', 100)]);
    assert.deepEqual(packs.map((p) => p.members), [[0, 1, 3], [2]]);
    assert.ok(packs.every((p) => p.query !== null));
  });
  test('a rule that reads everything makes one unfiltered read for all; one rule is one read', () => {
    assert.deepEqual(packReads([wide('a', 400), null, wide('b', 10)]), [{ members: [0, 1, 2], query: null }]);
    assert.deepEqual(packReads([wide('a', 3)]), [{ members: [0], query: wide('a', 3) }]);
  });
});

describe('widening a query for the cluster', () => {
  const wildcard = { wildcard: { 'process.executable': { value: '*\\conhost.exe', case_insensitive: true } } };
  const ci = { term: { 'process.parent.name': { value: 'winrshost.exe', case_insensitive: true } } };
  test('costly clauses leave conjunctions, empty alternatives open a disjunction, costly negations go', () => {
    const q = all(term('event.category', 'process'), ci, { bool: { must_not: [wildcard] } }, any(term('a', 1), wildcard));
    assert.deepEqual(widen(q), { bool: { filter: [term('event.category', 'process')] } });
    assert.deepEqual(widen(any(all(term('event.category', 'network'), ci), all(term('event.category', 'process')))),
      any(all(term('event.category', 'network')), all(term('event.category', 'process'))));
    assert.equal(widen(any(ci, term('a', 1))), null, 'an alternative with nothing left matches everything');
    assert.equal(widen(wildcard), null);
    const cheap = all(term('k', 'v'), { bool: { must_not: [term('k', 'w')] } }, { range: { n: { gte: 1 } } });
    assert.deepEqual(widen(cheap), cheap, 'nothing costly: the same query');
    // An optional should (beside a filter, no minimum) restricts nothing and is dropped.
    assert.deepEqual(widen({ bool: { filter: [term('k', 'v')], should: [term('a', 1)] } }), all(term('k', 'v')));
  });
});

describe('the cost rule: which clauses a widened read leaves to the evaluators', () => {
  // Measured on the benchmark's 1 M-event day (search/union.ts): term-dictionary clauses cost per
  // search whatever the window holds; the others are answered from postings and points.
  const table: [string, unknown, boolean][] = [
    ['plain term', term('event.category', 'process'), false],
    ['plain term, value object', { term: { 'process.name': { value: 'cmd.exe' } } }, false],
    ['terms list', { terms: { 'event.code': ['4624', '4625'] } }, false],
    ['range', { range: { 'destination.port': { gte: 5985 } } }, false],
    ['exists', { exists: { field: 'process.pid' } }, false],
    ['match_all', { match_all: {} }, false],
    ['case-insensitive term', { term: { 'process.name': { value: 'cmd.exe', case_insensitive: true } } }, true],
    ['case-sensitive term written with case_insensitive false', { term: { 'process.name': { value: 'cmd.exe', case_insensitive: false } } }, false],
    ['leading-wildcard', { wildcard: { 'process.executable': { value: '*\\cmd.exe' } } }, true],
    ['case-insensitive leading-wildcard', { wildcard: { 'process.executable': { value: '*\\cmd.exe', case_insensitive: true } } }, true],
    ['case-insensitive prefix wildcard', { wildcard: { 'process.name': { value: 'cmd*', case_insensitive: true } } }, true],
    ['prefix', { prefix: { 'process.name': 'cmd' } }, true],
    ['regexp', { regexp: { 'process.name': 'c.d' } }, true],
    ['fuzzy', { fuzzy: { 'process.name': 'cmd' } }, true],
    ['query_string', { query_string: { query: 'cmd*' } }, true],
  ];
  for (const [name, clause, costly] of table) {
    test(`${name}: ${costly ? 'costly, left to the evaluators' : 'cheap, kept'}`, () => {
      assert.equal(isCostly(clause as never), costly);
      // And widen agrees: a costly clause beside a cheap one goes, a cheap one stays.
      const q = all(term('event.category', 'process'), clause);
      assert.deepEqual(widen(q), costly ? all(term('event.category', 'process')) : q);
    });
  }
});
