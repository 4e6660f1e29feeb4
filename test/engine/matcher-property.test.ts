/**
 * The optimised sequence and sample matchers against the brute-force reference (reference.ts)
 * over random small inputs and random queries: both must find the same results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileEql, type CompiledSample, type CompiledSequence } from '../../src/eql/compile.js';
import type { EventRecord, RuleMatch } from '../../src/engine/events.js';
import { QueryEvaluator } from '../../src/engine/evaluator.js';
import { rawResult } from '../../src/engine/raw.js';
import { referenceSamples, referenceSequences, type RefResult } from './reference.js';

const arbEvents = fc.array(fc.record({
  t: fc.integer({ min: 0, max: 7 }),
  c: fc.constantFrom('a', 'b', 'c'),
  h: fc.constantFrom<unknown>(1, 2, undefined, null, [1, 2]),
  x: fc.integer({ min: 0, max: 3 }),
}), { maxLength: 26 }).map((rows) => {
  const events: EventRecord[] = rows.map((r, i) => ({
    index: 'i', id: String(i).padStart(3, '0'), timestamp: r.t * 1000,
    source: { event: { category: r.c }, x: r.x, ...(r.h === undefined ? {} : { h: r.h }) },
  }));
  // The order the evaluator feeds them in: time, then id.
  return events.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
});

const arbStage = fc.record({ c: fc.constantFrom('a', 'b', 'c', 'any'), cond: fc.constantFrom('true', 'x <= 1', 'x >= 2', 'x == 0') })
  .map((s) => `[${s.c} where ${s.cond}]`);

const arbSequence = fc.record({
  optional: fc.boolean(),
  positives: fc.array(arbStage, { minLength: 1, maxLength: 3 }),
  missing: fc.array(fc.record({ at: fc.nat(), stage: arbStage }), { maxLength: 2 }),
  maxspan: fc.option(fc.integer({ min: 1, max: 8 })),
  until: fc.option(arbStage),
  runs: fc.boolean(),
}).map((q) => {
  const stages = [...q.positives];
  if (q.runs) stages[0] = `${stages[0]} with runs=2`;
  for (const m of q.missing) stages.splice(m.at % (stages.length + 1), 0, `!${m.stage}`);
  if (stages.length < 2) stages.push('[b where true]');
  const maxspan = q.maxspan ?? (q.missing.length > 0 ? 5 : null);
  return `sequence by ${q.optional ? '?h' : 'h'}${maxspan !== null ? ` with maxspan=${maxspan}s` : ''} ${stages.join(' ')}${q.until ? ` until ${q.until}` : ''}`;
});

function engine(query: string, events: readonly EventRecord[], maxSamplesPerKey?: number): RefResult[] {
  const compiled = compileEql(query);
  const out: RuleMatch[] = [];
  const e = new QueryEvaluator(compiled, (m) => out.push(m), { maxSamplesPerKey });
  for (const x of events) e.push(x);
  e.flush();
  return out.map((m) => {
    const r = rawResult(compiled, m);
    return { ids: r.events.map((x) => (x === null ? '-' : x.id)), keys: r.joinKeys };
  });
}

const sorted = (rs: readonly RefResult[]) => rs.map((r) => JSON.stringify(r)).sort();

describe('matchers against the brute-force reference', () => {
  test('sequences: same results over random events and queries', () => {
    fc.assert(fc.property(arbSequence, arbEvents, (query, events) => {
      const compiled = compileEql(query) as CompiledSequence;
      assert.deepEqual(sorted(engine(query, events)), sorted(referenceSequences(compiled, events)), query);
    }), { numRuns: 1500 });
  });

  test('samples: same results, in the same order, over random events and queries', () => {
    const arbSample = fc.record({
      keys: fc.constantFrom('h', '?h', 'h, ?x', '?h, x'),
      filters: fc.array(arbStage, { minLength: 1, maxLength: 3 }),
      perKey: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(fc.property(arbSample, arbEvents, (s, events) => {
      const query = `sample by ${s.keys} ${s.filters.join(' ')}`;
      const compiled = compileEql(query) as CompiledSample;
      assert.deepEqual(engine(query, events, s.perKey).map((r) => JSON.stringify(r)), referenceSamples(compiled, events, s.perKey).map((r) => JSON.stringify(r)), query);
    }), { numRuns: 1500 });
  });
});
