/**
 * Threshold and new_terms aggregations on the real server: buckets at, below and above the
 * threshold, 0 to 2 fields, cardinality, paging past a composite page, the signal history across
 * two overlapping executions (and its round trip through the state store); new terms seen only
 * before the history window, inside it, or first in the window, combinations of two fields,
 * more terms than a page, multi-valued fields.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import {
  AggregateSpecError, findNewTerms, findThresholdMatches, newAggregateStats, termsKey,
  type AggregateScope, type ThresholdSpec,
} from '../../src/search/aggregate/index.js';
import { testEnv, type TestEnv } from '../helpers/es.js';

const T0 = Date.UTC(2026, 9, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();

interface Ev { t: number; host?: string | string[]; user?: string | string[]; n?: number }

async function load(env: TestEnv, name: string, events: Ev[]): Promise<string> {
  const index = `${env.prefix}-events-${name}`;
  await indexEvents(env.client, events.map((e, i) => ({
    index, id: `${name}${i}`,
    source: { '@timestamp': at(e.t), ...(e.host !== undefined ? { host: { name: e.host } } : {}), ...(e.user !== undefined ? { user: { name: e.user } } : {}), ...(e.n !== undefined ? { n: e.n } : {}) },
  })));
  return index;
}

describe('threshold aggregation', () => {
  let env: TestEnv;
  let index: string;
  let scope: AggregateScope;
  before(async () => {
    env = await testEnv();
    // In the window: h1 x5 (users u1,u2,u3), h2 x3 (u1), h3 x2 (u1); outside it: h3 once more.
    const events: Ev[] = [
      ...[1, 2, 3, 4, 5].map((m, i) => ({ t: T0 + m * MIN, host: 'h1', user: `u${(i % 3) + 1}` })),
      ...[6, 7, 8].map((m) => ({ t: T0 + m * MIN, host: 'h2', user: 'u1' })),
      ...[9, 10].map((m) => ({ t: T0 + m * MIN, host: 'h3', user: 'u1' })),
      { t: T0 - MIN, host: 'h3', user: 'u1' },
    ];
    index = await load(env, 'thr', events);
    scope = { indices: [index], query: null, timestampField: '@timestamp', from: T0, to: T0 + HOUR };
  });
  after(async () => env?.close());

  const run = async (spec: ThresholdSpec, options = {}, s: AggregateScope = scope) => {
    const stats = newAggregateStats();
    const r = await findThresholdMatches(env.client, s, spec, options, stats);
    return { ...r, stats };
  };

  test('one field: the buckets at (h2: 3) and above (h1: 5) the value match, the one below (h3: 2, its third event before the window) does not', async () => {
    const r = await run({ fields: ['host.name'], value: 3 });
    assert.deepEqual(r.matches.map((m) => [m.terms, m.count, m.from, m.lastEvent]), [
      [[{ field: 'host.name', value: 'h1' }], 5, T0 + MIN, T0 + 5 * MIN],
      [[{ field: 'host.name', value: 'h2' }], 3, T0 + 6 * MIN, T0 + 8 * MIN],
    ]);
    assert.equal(r.matches[0].cardinality, undefined);
    assert.deepEqual([...r.history], [[termsKey([{ field: 'host.name', value: 'h1' }]), T0 + 5 * MIN], [termsKey([{ field: 'host.name', value: 'h2' }]), T0 + 8 * MIN]]);
    assert.equal(r.matches[0].entity, `${termsKey(r.matches[0].terms)}@${at(T0 + MIN)}`);
    assert.equal(r.stats.searches, 1);
  });

  test('no field: the whole window is one bucket, matching at 10 events and not at 11', async () => {
    const ten = await run({ fields: [], value: 10 });
    assert.deepEqual(ten.matches.map((m) => [m.terms, m.count, m.from, m.lastEvent]), [[[], 10, T0 + MIN, T0 + 10 * MIN]]);
    assert.equal((await run({ fields: [], value: 11 })).matches.length, 0);
  });

  test('two fields: a bucket per (host, user) combination', async () => {
    const r = await run({ fields: ['host.name', 'user.name'], value: 2 });
    assert.deepEqual(r.matches.map((m) => [m.terms.map((t) => t.value), m.count]), [[['h1', 'u1'], 2], [['h1', 'u2'], 2], [['h2', 'u1'], 3], [['h3', 'u1'], 2]]);
  });

  test('cardinality: only the host with 3 distinct users passes; its result names the field and the count', async () => {
    const r = await run({ fields: ['host.name'], value: 3, cardinality: [{ field: 'user.name', value: 3 }] });
    assert.deepEqual(r.matches.map((m) => [m.terms[0].value, m.count, m.cardinality]), [['h1', 5, [{ field: 'user.name', value: 3 }]]]);
    const none = await run({ fields: [], value: 1, cardinality: [{ field: 'user.name', value: 4 }] });
    assert.equal(none.matches.length, 0);
  });

  test('more buckets than a page: every match is found, page by page', async () => {
    const r = await run({ fields: ['host.name', 'user.name'], value: 1 }, { pageSize: 2 });
    assert.equal(r.matches.length, 5);
    assert.ok(r.stats.searches >= 3, `searches: ${r.stats.searches}`);
  });

  test('maxMatches stops the matches and says so', async () => {
    const r = await run({ fields: ['host.name', 'user.name'], value: 1 }, { pageSize: 2, maxMatches: 2 });
    assert.equal(r.matches.length, 2);
    assert.equal(r.truncated, true);
  });

  test('bad specifications are refused with the field named', async () => {
    await assert.rejects(run({ fields: ['a', 'b', 'c', 'd'], value: 1 }), (e: Error) => e instanceof AggregateSpecError && /threshold.field: at most 3 fields, found 4/.test(e.message));
    await assert.rejects(run({ fields: ['a'], value: 0 }), /threshold.value: expected an integer of at least 1, found 0/);
    await assert.rejects(run({ fields: ['a'], value: 1, cardinality: [{ field: 'u', value: 2 }, { field: 'v', value: 2 }] }), /threshold.cardinality: at most one entry, found 2/);
  });

  test('two overlapping executions with the signal history (kept in the state store): one match', async () => {
    const idx = await load(env, 'thr-hist', [
      ...[5, 10, 15].map((m) => ({ t: T0 + m * MIN, host: 'x' })),
      { t: T0 + 35 * MIN, host: 'x' },
    ]);
    const spec: ThresholdSpec = { fields: ['host.name'], value: 3 };
    const first = { indices: [idx], query: null, timestampField: '@timestamp', from: T0, to: T0 + 30 * MIN };
    const second = { ...first, from: T0 + 10 * MIN, to: T0 + 40 * MIN };
    const one = await run(spec, {}, first);
    assert.equal(one.matches.length, 1);
    const saved = await env.deps.store.saveThresholdHistory('rule-x', one.history);
    assert.deepEqual([...saved], [[termsKey([{ field: 'host.name', value: 'x' }]), T0 + 15 * MIN]]);
    // Without the history the overlapping execution counts the events at 10 and 15 again.
    assert.equal((await run(spec, {}, second)).matches.length, 1);
    const history = await env.deps.store.thresholdHistory('rule-x');
    const two = await run(spec, { history }, second);
    assert.equal(two.matches.length, 0);
    assert.equal(two.stats.searches, 2, 'the bucket with history is counted again');
    // Two more events after the last alerted one: a new burst, alerted from its own first event.
    await indexEvents(env.client, [36, 37].map((m) => ({ index: idx, id: `more${m}`, source: { '@timestamp': at(T0 + m * MIN), host: { name: 'x' } } })));
    const three = await run(spec, { history }, second);
    assert.deepEqual(three.matches.map((m) => [m.count, m.from, m.lastEvent]), [[3, T0 + 35 * MIN, T0 + 37 * MIN]]);
    assert.notEqual(three.matches[0].entity, one.matches[0].entity);
    // No field: the history holds the one bucket too.
    const all = await run({ fields: [], value: 3 }, { history: new Map([[termsKey([]), T0 + 35 * MIN]]) }, second);
    assert.equal(all.matches.length, 0);
  });

  test('history for several buckets, re-counted one bucket a search: each loses its alerted events', async () => {
    const history = new Map([[termsKey([{ field: 'host.name', value: 'h1' }]), T0 + 3 * MIN], [termsKey([{ field: 'host.name', value: 'h2' }]), T0 + 8 * MIN]]);
    const r = await run({ fields: ['host.name'], value: 2 }, { history, recountChunk: 1 });
    assert.deepEqual(r.matches.map((m) => [m.terms[0].value, m.count, m.from]), [['h1', 2, T0 + 4 * MIN], ['h3', 2, T0 + 9 * MIN]]);
    assert.equal(r.stats.searches, 3);
  });

  test('a search the server refuses is a SearchError naming the aggregation and the index', async () => {
    const bad = { ...scope, query: { range: { '@timestamp': { gte: 'not a date' } } } };
    await assert.rejects(run({ fields: ['host.name'], value: 1 }, {}, bad), (e: Error) => e.name === 'SearchError' && e.message.startsWith(`threshold aggregation on ${index} failed:`));
    await assert.rejects(findNewTerms(env.client, bad, { fields: ['host.name'], historyStart: T0 - DAY }, {}, newAggregateStats()), /new terms: terms of the window on .* failed/);
  });

  test('the stored history merges (the later time wins) and drops what ended before a time', async () => {
    const store = env.deps.store;
    await store.saveThresholdHistory('rule-m', new Map([['a', 10], ['b', 20]]));
    await store.saveThresholdHistory('rule-m', new Map([['a', 5], ['c', 30]]));
    assert.deepEqual([...(await store.thresholdHistory('rule-m'))].sort(), [['a', 10], ['b', 20], ['c', 30]]);
    await store.saveThresholdHistory('rule-m', new Map(), 20);
    assert.deepEqual([...(await store.thresholdHistory('rule-m'))], [['c', 30]]);
    assert.deepEqual([...(await store.thresholdHistory('rule-none'))], []);
  });
});

describe('new_terms aggregation', () => {
  let env: TestEnv;
  let index: string;
  // The window is the hour after W; the history window starts a day before it.
  const W = T0 + DAY;
  const scopeOf = (idx: string): AggregateScope => ({ indices: [idx], query: null, timestampField: '@timestamp', from: W, to: W + HOUR });
  before(async () => {
    env = await testEnv();
    index = await load(env, 'nt', [
      { t: T0 - HOUR, host: 'old', user: 'u1' }, // before the history window only
      { t: W + 5 * MIN, host: 'old', user: 'u1' },
      { t: T0 + 2 * HOUR, host: 'seen', user: 'u1' }, // in the history window
      { t: W + 10 * MIN, host: 'seen', user: 'u1' },
      { t: W + 20 * MIN, host: 'seen', user: 'u2' },
      { t: W + 30 * MIN, host: 'fresh', user: 'u1' }, // first in the window: the first event is nt5
      { t: W + 40 * MIN, host: 'fresh', user: 'u1' },
      { t: W + 50 * MIN, host: ['mv', 'seen'], user: 'u3' }, // multi-valued: mv is new, seen is not
      { t: W + 2 * HOUR, host: 'later', user: 'u1' }, // after the window
    ]);
  });
  after(async () => env?.close());

  const run = async (idx: string, fields: string[], options = {}, historyStart = T0) => {
    const stats = newAggregateStats();
    const r = await findNewTerms(env.client, scopeOf(idx), { fields, historyStart }, options, stats);
    return { ...r, stats };
  };

  test('one field: a term seen only before the history window is new, one seen inside it is not, one first in the window is', async () => {
    const r = await run(index, ['host.name']);
    assert.deepEqual(r.matches.map((m) => [m.values, m.firstSeen, m.event.id, m.event.timestamp]), [
      [['fresh'], W + 30 * MIN, 'nt5', W + 30 * MIN],
      [['mv'], W + 50 * MIN, 'nt7', W + 50 * MIN],
      [['old'], W + 5 * MIN, 'nt1', W + 5 * MIN],
    ]);
    assert.deepEqual((r.matches[0].event.source as { host: unknown }).host, { name: 'fresh' });
    assert.equal(r.matches[0].entity, `${termsKey(r.matches[0].terms)}@${at(W + 30 * MIN)}`);
    assert.equal(r.windowTerms, 4);
    assert.equal(r.stats.searches, 3, 'window terms, their history, the first events');
  });

  test('a history window reaching back before the old term makes it not new', async () => {
    const r = await run(index, ['host.name'], {}, T0 - 2 * HOUR);
    assert.deepEqual(r.matches.map((m) => m.values), [['fresh'], ['mv']]);
  });

  test('two fields: a combination is new when the pair was never seen, whatever each value alone', async () => {
    const r = await run(index, ['host.name', 'user.name']);
    assert.deepEqual(r.matches.map((m) => m.values), [['fresh', 'u1'], ['mv', 'u3'], ['old', 'u1'], ['seen', 'u2'], ['seen', 'u3']]);
    assert.deepEqual(r.matches[3].terms, [{ field: 'host.name', value: 'seen' }, { field: 'user.name', value: 'u2' }]);
  });

  test('pages of one term, and the history checked two combinations a search: the same combinations', async () => {
    const r = await run(index, ['host.name', 'user.name'], { pageSize: 1 });
    assert.deepEqual(r.matches.map((m) => m.values), [['fresh', 'u1'], ['mv', 'u3'], ['old', 'u1'], ['seen', 'u2'], ['seen', 'u3']]);
    assert.equal(r.pages, 6);
    const chunked = await run(index, ['host.name', 'user.name'], { filtersPerSearch: 2 });
    assert.deepEqual(chunked.matches.map((m) => m.values), r.matches.map((m) => m.values));
    assert.equal(chunked.stats.searches, 1 + 3 + 1, 'window terms, 6 combinations 2 a search, first events');
  });

  test('more terms than a page: every new term found', async () => {
    const idx = await load(env, 'nt-many', [
      ...Array.from({ length: 25 }, (_, i) => ({ t: W + i * MIN, host: `n${String(i).padStart(2, '0')}` })),
      ...Array.from({ length: 10 }, (_, i) => ({ t: T0 + i * MIN, host: `n${String(i * 2).padStart(2, '0')}` })),
    ]);
    const r = await run(idx, ['host.name'], { pageSize: 10 });
    assert.equal(r.pages, 3);
    assert.deepEqual(r.matches.map((m) => m.values[0]), Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, '0')}`).filter((_, i) => i % 2 === 1 || i >= 20));
    const capped = await run(idx, ['host.name'], { pageSize: 10, maxMatches: 4 });
    assert.equal(capped.matches.length, 4);
    assert.equal(capped.truncated, true);
  });

  test('numeric terms and the rule query narrow what counts, in the window and in the history', async () => {
    const idx = await load(env, 'nt-num', [
      { t: T0 + HOUR, n: 1, user: 'a' }, { t: W + MIN, n: 1, user: 'a' }, { t: W + 2 * MIN, n: 2, user: 'a' },
      { t: T0 + HOUR, n: 3, user: 'b' }, { t: W + 3 * MIN, n: 3, user: 'a' },
    ]);
    const stats = newAggregateStats();
    const r = await findNewTerms(env.client, { ...scopeOf(idx), query: { term: { 'user.name': 'a' } } }, { fields: ['n'], historyStart: T0 }, {}, stats);
    assert.deepEqual(r.matches.map((m) => m.values), [[2], [3]]);
  });

  test('bad specifications are refused with the field named', async () => {
    await assert.rejects(run(index, []), (e: Error) => e instanceof AggregateSpecError && /new_terms_fields: expected 1 to 3 fields, found 0/.test(e.message));
    await assert.rejects(run(index, ['a', 'a']), /new_terms_fields: a field appears twice/);
    await assert.rejects(run(index, ['host.name'], {}, W), /history_window_start \(.*\) must be earlier than the window's start/);
  });
});

describe('timestamp override with the fallback to @timestamp', () => {
  let env: TestEnv;
  let index: string;
  const W = T0 + DAY;
  before(async () => {
    env = await testEnv();
    index = `${env.prefix}-events-ts`;
    const doc = (host: string, ts: number, ingested?: number) => ({ '@timestamp': at(ts), host: { name: host }, ...(ingested !== undefined ? { event: { ingested: at(ingested) } } : {}) });
    await indexEvents(env.client, [
      // a: two events ingested in the window (their @timestamp is a day earlier), one without event.ingested in it.
      { index, id: 'a1', source: doc('a', W - DAY, W + 10 * MIN) },
      { index, id: 'a2', source: doc('a', W - DAY, W + 20 * MIN) },
      { index, id: 'a3', source: doc('a', W + 5 * MIN) },
      // b: ingested before the window (history), though its @timestamp is in the window.
      { index, id: 'b1', source: doc('b', W + MIN, T0 + HOUR) },
      { index, id: 'b2', source: doc('b', W + 30 * MIN, W + 30 * MIN) },
      // c: only by @timestamp, in the window.
      { index, id: 'c1', source: doc('c', W + 40 * MIN) },
    ]);
  });
  after(async () => env?.close());
  const scope = (): AggregateScope => ({ indices: [index], query: null, timestampField: 'event.ingested', fallbackTimestampField: '@timestamp', from: W, to: W + HOUR });

  test('threshold counts events by the override, and those lacking it by @timestamp; times combine both', async () => {
    const r = await findThresholdMatches(env.client, scope(), { fields: ['host.name'], value: 2 }, {}, newAggregateStats());
    assert.deepEqual(r.matches.map((m) => [m.terms[0].value, m.count, m.from, m.lastEvent]), [['a', 3, W + 5 * MIN, W + 20 * MIN]]);
    const history = new Map([[termsKey([{ field: 'host.name', value: 'a' }]), W + 10 * MIN]]);
    const again = await findThresholdMatches(env.client, scope(), { fields: ['host.name'], value: 1 }, { history }, newAggregateStats());
    assert.deepEqual(again.matches.map((m) => [m.terms[0].value, m.count, m.from]), [['a', 1, W + 20 * MIN], ['b', 1, W + 30 * MIN], ['c', 1, W + 40 * MIN]]);
  });

  test('new_terms takes the history and the first event by the same time', async () => {
    const r = await findNewTerms(env.client, scope(), { fields: ['host.name'], historyStart: T0 }, {}, newAggregateStats());
    assert.deepEqual(r.matches.map((m) => [m.values[0], m.event.id, m.firstSeen]), [['a', 'a3', W + 5 * MIN], ['c', 'c1', W + 40 * MIN]]);
  });
});
