import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { eventTimeText, parseEventTime, type EventRecord, type RuleMatch } from '../../src/engine/events.js';
import { naturalCompare, QueryEvaluator } from '../../src/engine/evaluator.js';

const T = Date.UTC(2017, 7, 30, 20, 47, 33);

// Forms Elasticsearch's date and date_nanos fields accept with the default format
// (strict_date_optional_time||epoch_millis), and what they read as.
const cases: [unknown, { ms: number; nanos: number } | undefined][] = [
  ['2017-08-30T20:47:33Z', { ms: T, nanos: 0 }],
  ['2017-08-30T20:47:33.5Z', { ms: T + 500, nanos: 0 }],
  ['2017-08-30T20:47:33.123Z', { ms: T + 123, nanos: 0 }],
  ['2017-08-30T20:47:33.123456789Z', { ms: T + 123, nanos: 456789 }],
  ['2017-08-30T20:47:33.1234Z', { ms: T + 123, nanos: 400000 }],
  ['2017-08-30T22:47:33+02:00', { ms: T, nanos: 0 }],
  ['2017-08-30T22:47:33+0200', { ms: T, nanos: 0 }],
  ['2017-08-30T20:47:33', { ms: T, nanos: 0 }], // no offset: UTC, whatever the local zone
  ['2017-08-30T20:47', { ms: T - 33_000, nanos: 0 }],
  ['2017-08-30', { ms: Date.UTC(2017, 7, 30), nanos: 0 }],
  ['2017-08', { ms: Date.UTC(2017, 7, 1), nanos: 0 }],
  ['2017', { ms: Date.UTC(2017, 0, 1), nanos: 0 }], // four digits: a year (the date format is tried first)
  ['20170', { ms: 20170, nanos: 0 }],
  [2017, { ms: 2017, nanos: 0 }], // a JSON number: epoch milliseconds
  ['1', { ms: 1, nanos: 0 }],
  [T, { ms: T, nanos: 0 }],
  [String(T), { ms: T, nanos: 0 }],
  ['131485996510.239400', { ms: 131485996510, nanos: 239400 }],
  ['131485996510.2394', { ms: 131485996510, nanos: 239400 }],
  [1.5, { ms: 1, nanos: 500000 }],
  ['-1.5', { ms: -2, nanos: 500000 }],
  [['2017-08-30T20:47:33Z', 'x'], { ms: T, nanos: 0 }],
  // Not read: counted and reported by the caller.
  ['Aug 30 2017', undefined],
  ['2017-08-30 20:47:33', undefined],
  ['2017-02-30', undefined],
  ['2017-08-30T25:00:00Z', undefined],
  ['', undefined],
  [null, undefined],
  [true, undefined],
  [Number.NaN, undefined],
  [[], undefined],
  [131485996510000000, undefined], // Windows FILETIME, not epoch milliseconds: beyond a Date
  ['131485996510000000', undefined],
];

describe('event timestamps', () => {
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} reads as ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseEventTime(input), expected);
    });
  }

  test('an event time prints with its nanoseconds when it has them', () => {
    assert.equal(eventTimeText({ timestamp: T + 123, nanos: 4500 }), '2017-08-30T20:47:33.123004500Z');
    assert.equal(eventTimeText({ timestamp: T }), '2017-08-30T20:47:33.000Z');
  });

  test('events within one millisecond are ordered by their nanoseconds; maxspan is measured to the nanosecond', () => {
    const ev = (id: string, iso: string, cat: string): EventRecord => {
      const t = parseEventTime(iso)!;
      return { index: 'i', id, timestamp: t.ms, nanos: t.nanos, source: { event: { category: cat }, h: 1 } };
    };
    const run = (q: string, events: EventRecord[]) => {
      const out: RuleMatch[] = [];
      const e = new QueryEvaluator(compileEql(q), (m) => out.push(m));
      for (const x of events) e.push(x);
      e.flush();
      return out.map((m) => m.events.map((x) => x.id));
    };
    // Ids would put b first; the nanoseconds put a first.
    const a = ev('z', '2017-08-30T20:47:33.000000100Z', 'a');
    const b = ev('y', '2017-08-30T20:47:33.000000200Z', 'b');
    assert.deepEqual(run('sequence by h [a where true] [b where true]', [b, a]), [['z', 'y']]);
    const q = 'sequence by h with maxspan=1s [a where true] [b where true]';
    assert.deepEqual(run(q, [ev('a', '2017-08-30T20:47:33.000000100Z', 'a'), ev('b', '2017-08-30T20:47:34.000000100Z', 'b')]), [['a', 'b']]);
    assert.deepEqual(run(q, [ev('a', '2017-08-30T20:47:33.000000100Z', 'a'), ev('b', '2017-08-30T20:47:34.000000101Z', 'b')]), []);
  });
});

describe('natural order of ids (equal timestamps without a tiebreaker)', () => {
  const cases: [string, string, number][] = [
    ['line-9', 'line-10', -1], ['9', '10', -1], ['10', '9', 1], ['a', 'b', -1], ['x2y', 'x2y', 0],
    ['e010', 'e9', 1], ['e09', 'e9', 1], ['abc', 'abcd', -1], ['line-2', 'line-2a', -1], ['Z', 'a', -1],
  ];
  for (const [a, b, sign] of cases) {
    test(`${a} vs ${b}`, () => assert.equal(Math.sign(naturalCompare(a, b)), sign));
  }

  test('bare documents of one timestamp keep the order of their lines (line-9 before line-10)', () => {
    const out: RuleMatch[] = [];
    const e = new QueryEvaluator(compileEql('sequence [a where true] [b where true]'), (m) => out.push(m));
    const at = (id: string, cat: string): EventRecord => ({ index: 'events', id, timestamp: 5, source: { event: { category: cat } } });
    for (const x of [at('line-10', 'b'), at('line-9', 'a')]) e.push(x);
    e.flush();
    assert.deepEqual(out.map((m) => m.events.map((x) => x.id)), [['line-9', 'line-10']]);
  });
});
