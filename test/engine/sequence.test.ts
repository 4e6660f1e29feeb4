import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import type { EventRecord, RuleMatch } from '../../src/engine/events.js';
import { QueryEvaluator } from '../../src/engine/evaluator.js';

let next = 0;
function ev(ts: number, source: Record<string, unknown>, id = `e${next++}`): EventRecord {
  return { index: 'i', id, timestamp: ts, source };
}

function run(query: string, events: EventRecord[], tiebreakerField?: string): string[][] {
  const out: RuleMatch[] = [];
  const e = new QueryEvaluator(compileEql(query), (m) => out.push(m), { tiebreakerField });
  for (const x of events) e.push(x);
  e.flush();
  return out.map((m) => m.events.map((x) => x.id));
}

const cat = (c: string, extra: Record<string, unknown> = {}) => ({ event: { category: [c] }, ...extra });

describe('sequence matching (Elasticsearch semantics)', () => {
  test('[a <= 3] [true] [true] over 1..5 gives 1,2,3 / 2,3,4 / 3,4,5', () => {
    const events = [1, 2, 3, 4, 5].map((i) => ev(i * 1000, cat('x', { a: i, h: 'k' }), String(i)));
    assert.deepEqual(run('sequence by h [x where a <= 3] [x where true] [x where true]', events), [['1', '2', '3'], ['2', '3', '4'], ['3', '4', '5']]);
  });

  test('a newer partial replaces the older one at the same stage', () => {
    const events = [ev(1000, cat('a', { h: 1 }), 'a1'), ev(2000, cat('a', { h: 1 }), 'a2'), ev(3000, cat('b', { h: 1 }), 'b1')];
    assert.deepEqual(run('sequence by h [a where true] [b where true]', events), [['a2', 'b1']]);
  });

  test('a partial is used once: a second b does not reuse it', () => {
    const events = [ev(1000, cat('a', { h: 1 }), 'a1'), ev(2000, cat('b', { h: 1 }), 'b1'), ev(3000, cat('b', { h: 1 }), 'b2')];
    assert.deepEqual(run('sequence by h [a where true] [b where true]', events), [['a1', 'b1']]);
  });

  test('order matters: b before a is no sequence', () => {
    const events = [ev(1000, cat('b', { h: 1 })), ev(2000, cat('a', { h: 1 }))];
    assert.deepEqual(run('sequence by h [a where true] [b where true]', events), []);
  });

  test('join key separates hosts; a missing key does not join', () => {
    const events = [ev(1000, cat('a', { h: 1 }), 'a1'), ev(2000, cat('b', { h: 2 }), 'b2'), ev(3000, cat('b', {}), 'bx'), ev(4000, cat('b', { h: 1 }), 'b1')];
    assert.deepEqual(run('sequence by h [a where true] [b where true]', events), [['a1', 'b1']]);
  });

  test('maxspan is inclusive and measured from the first event', () => {
    const q = 'sequence by h with maxspan=30s [a where true] [b where true]';
    assert.deepEqual(run(q, [ev(0, cat('a', { h: 1 }), 'a'), ev(30_000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
    assert.deepEqual(run(q, [ev(0, cat('a', { h: 1 }), 'a'), ev(30_001, cat('b', { h: 1 }), 'b')]), []);
    const q3 = 'sequence by h with maxspan=30s [a where true] [b where true] [c where true]';
    assert.deepEqual(run(q3, [ev(0, cat('a', { h: 1 })), ev(20_000, cat('b', { h: 1 })), ev(31_000, cat('c', { h: 1 }))]), []);
  });

  test('per-stage keys join different fields', () => {
    const events = [ev(1000, cat('a', { x: 'k' }), 'a'), ev(2000, cat('b', { y: 'k' }), 'b')];
    assert.deepEqual(run('sequence [a where true] by x [b where true] by y', events), [['a', 'b']]);
  });

  test('multi-valued keys join on any value', () => {
    const events = [ev(1000, cat('a', { h: ['p', 'q'] }), 'a'), ev(2000, cat('b', { h: 'q' }), 'b')];
    assert.deepEqual(run('sequence by h [a where true] [b where true]', events), [['a', 'b']]);
  });

  test('until drops pending sequences of its key', () => {
    const q = 'sequence by h [a where true] [b where true] until [c where true]';
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 })), ev(2000, cat('c', { h: 1 })), ev(3000, cat('b', { h: 1 }))]), []);
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 }), 'a'), ev(2000, cat('c', { h: 2 })), ev(3000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
  });

  test('until does not cancel the sequence its own event completes (stage match before the until check)', () => {
    const q = 'sequence by h [a where true] [b where true] until [any where u == 1]';
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 }), 'a'), ev(2000, cat('b', { h: 1, u: 1 }), 'b')]), [['a', 'b']]);
    // ...but an earlier until event of the key between the two stages does.
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 })), ev(1500, cat('c', { h: 1, u: 1 })), ev(2000, cat('b', { h: 1, u: 1 }))]), []);
    // An until event that is the partial's own last event cancels it (Elasticsearch's range is inclusive there).
    const q2 = 'sequence by h [a where true] [b where true] until [a where x == 1]';
    assert.deepEqual(run(q2, [ev(1000, cat('a', { h: 1, x: 1 })), ev(2000, cat('b', { h: 1 }))]), []);
    assert.deepEqual(run(q2, [ev(1000, cat('a', { h: 1, x: 2 }), 'a'), ev(2000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
    // A three-stage sequence: the until event completing stage 2 does not cancel it; the third step after it does.
    const q3 = 'sequence by h [a where true] [b where true] [c where true] until [b where true]';
    assert.deepEqual(run(q3, [ev(1000, cat('a', { h: 1 })), ev(2000, cat('b', { h: 1 })), ev(3000, cat('c', { h: 1 }))]), []);
  });

  test('optional join keys: a missing or null key joins under the null key', () => {
    const q = 'sequence by ?h [a where true] [b where true]';
    const out: RuleMatch[] = [];
    const e = new QueryEvaluator(compileEql(q), (m) => out.push(m));
    for (const x of [ev(1000, cat('a', {}), 'a0'), ev(2000, cat('b', { h: null }), 'b0'), ev(3000, cat('a', { h: 1 }), 'a1'), ev(4000, cat('b', {}), 'bx'), ev(5000, cat('b', { h: 1 }), 'b1')]) e.push(x);
    e.flush();
    assert.deepEqual(out.map((m) => [m.events.map((x) => x.id), m.joinKeys]), [[['a0', 'b0'], [null]], [['a1', 'b1'], [1]]]);
    // A stage key may be optional on its own, and several keys mix nulls and values.
    assert.deepEqual(run('sequence by u [a where true] by ?h [b where true] by ?g', [ev(1000, cat('a', { u: 'x' }), 'a'), ev(2000, cat('b', { u: 'x', g: 1 })), ev(3000, cat('b', { u: 'x' }), 'b')]), [['a', 'b']]);
    // Without ?, a missing key still does not join.
    assert.deepEqual(run('sequence by h [a where true] [b where true]', [ev(1000, cat('a', {})), ev(2000, cat('b', {}))]), []);
    // Sample with an optional key.
    assert.deepEqual(run('sample by h, ?os [a where true] [b where true]', [ev(1000, cat('a', { h: 1 }), 'a'), ev(2000, cat('b', { h: 1, os: 'w' })), ev(3000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
  });

  test('multi-valued join keys: one sequence per key value', () => {
    const events = [ev(1000, cat('a', { h: ['p', 'q'] }), 'a'), ev(2000, cat('b', { h: ['q', 'p'] }), 'b')];
    const out: RuleMatch[] = [];
    const e = new QueryEvaluator(compileEql('sequence by h [a where true] [b where true]'), (m) => out.push(m));
    for (const x of events) e.push(x);
    e.flush();
    assert.deepEqual(out.map((m) => [m.events.map((x) => x.id), m.joinKeys]).sort(), [[['a', 'b'], ['p']], [['a', 'b'], ['q']]]);
  });

  test('runs=N repeats a stage', () => {
    const events = [1, 2, 3].map((i) => ev(i * 1000, cat('a', { h: 1 }), `a${i}`));
    assert.deepEqual(run('sequence by h [a where true] with runs=3', events), [['a1', 'a2', 'a3']]);
  });

  test('equal timestamps are ordered by tiebreaker, then index and id, whatever the arrival order', () => {
    const a = ev(1000, cat('a', { h: 1, seq: 2 }), 'z');
    const b = ev(1000, cat('b', { h: 1, seq: 1 }), 'y');
    // Without a tiebreaker, ids order them: y (b) before z (a): no sequence.
    assert.deepEqual(run('sequence by h [a where true] [b where true]', [a, b]), []);
    assert.deepEqual(run('sequence by h [a where true] [b where true]', [b, a]), []);
    // With a tiebreaker that puts a first, the sequence forms in both arrival orders.
    const a2 = ev(1000, cat('a', { h: 1, seq: 1 }), 'z');
    const b2 = ev(1000, cat('b', { h: 1, seq: 2 }), 'y');
    assert.deepEqual(run('sequence by h [a where true] [b where true]', [b2, a2], 'seq'), [['z', 'y']]);
  });

  test('old partials are evicted so memory stays bounded', () => {
    const out: RuleMatch[] = [];
    const e = new QueryEvaluator(compileEql('sequence by h with maxspan=1s [a where true] [b where true]'), (m) => out.push(m));
    for (let i = 0; i < 20_000; i++) e.push(ev(i * 10, cat('a', { h: i })));
    e.flush();
    assert.ok(e.openPartials < 5_000, `open partials ${e.openPartials}`);
  });

  test('missing event in the middle: rejected only when it lies strictly between its neighbours', () => {
    const q = 'sequence by h with maxspan=1m [a where true] ![m where true] [b where true]';
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 }), 'a'), ev(2000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 })), ev(1500, cat('m', { h: 1 })), ev(2000, cat('b', { h: 1 }))]), []);
    assert.deepEqual(run(q, [ev(500, cat('m', { h: 1 })), ev(1000, cat('a', { h: 1 }), 'a'), ev(2000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
    assert.deepEqual(run(q, [ev(1000, cat('a', { h: 1 }), 'a'), ev(1500, cat('m', { h: 2 })), ev(2000, cat('b', { h: 1 }), 'b')]), [['a', 'b']], 'other key');
  });

  test('leading missing event: rejected when the nearest one before lies within maxspan', () => {
    const q = 'sequence by h with maxspan=10s [a where true] ![m where true] [b where true]'.replace('[a where true] ![m where true]', '![m where true] [a where true]');
    assert.deepEqual(run(q, [ev(1000, cat('m', { h: 1 })), ev(2000, cat('a', { h: 1 })), ev(3000, cat('b', { h: 1 }))]), []);
    assert.deepEqual(run(q, [ev(0, cat('m', { h: 1 })), ev(20_000, cat('a', { h: 1 }), 'a'), ev(21_000, cat('b', { h: 1 }), 'b')]), [['a', 'b']]);
  });

  test('trailing missing event: held until maxspan has passed, rejected if one arrives in time', () => {
    const q = 'sequence by h with maxspan=10s [a where true] [b where true] ![m where true]';
    assert.deepEqual(run(q, [ev(0, cat('a', { h: 1 })), ev(1000, cat('b', { h: 1 })), ev(5000, cat('m', { h: 1 }))]), []);
    assert.deepEqual(run(q, [ev(0, cat('a', { h: 1 }), 'a'), ev(1000, cat('b', { h: 1 }), 'b'), ev(15_000, cat('m', { h: 1 }))]), [['a', 'b']]);
    assert.deepEqual(run(q, [ev(0, cat('a', { h: 1 }), 'a'), ev(1000, cat('b', { h: 1 }), 'b')]), [['a', 'b']], 'released at the end of the stream');
  });

  test('sample: one event per filter per key, in filter order, no time order', () => {
    const q = 'sample by h [a where true] [b where true]';
    const events = [ev(1000, cat('b', { h: 1 }), 'b1'), ev(2000, cat('a', { h: 2 }), 'a2'), ev(3000, cat('a', { h: 1 }), 'a1'), ev(4000, cat('a', { h: 1 }), 'a1x'), ev(5000, cat('b', { h: 2 }), 'b2')];
    assert.deepEqual(run(q, events), [['a1', 'b1'], ['a2', 'b2']]);
  });

  test('pipes: head keeps the first results, tail the last ones', () => {
    const events = [1, 2, 3, 4, 5].map((i) => ev(i * 1000, cat('x', { i }), String(i)));
    assert.deepEqual(run('x where true | head 2', events), [['1'], ['2']]);
    assert.deepEqual(run('x where true | tail 2', events), [['4'], ['5']]);
    assert.deepEqual(run('x where true | tail 3 | head 1', events), [['3']]);
  });
});
