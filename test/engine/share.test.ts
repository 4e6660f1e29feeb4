/**
 * Rules with the same first stage share its partial sequences and the ordering of events; each
 * must find exactly what it finds alone. Differential property test over random rule variants
 * and random event streams (equal timestamps included, multi-valued and numeric keys).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { EventRecord } from '../../src/engine/events.js';
import { QueryEvaluator } from '../../src/engine/evaluator.js';
import { shareEvaluation } from '../../src/engine/share.js';
import { compileEql } from '../../src/eql/compile.js';
import type { Rule } from '../../src/rules/model.js';
import { shippedRule } from '../helpers/rules.js';

const cond = fc.constantFrom('a == 1', 'a != 1', 'b : "x*"', 'true', 'a in (0, 2)', 'not b == "y"', 'b == null', 'a >= 1');
const cat = fc.constantFrom('process', 'network', 'any');
const event = fc.record({
  cat: fc.oneof(fc.constantFrom('process', 'network', 'file'), fc.constant(['process', 'network'])),
  a: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant('1'), fc.constant([1, 2])),
  b: fc.oneof(fc.constantFrom('x1', 'y', 'X2'), fc.constant(undefined)),
  host: fc.oneof(fc.constantFrom('h1', 'h2', '1'), fc.constant(1), fc.constant(['h1', 'h2']), fc.constant(undefined)),
  dt: fc.constantFrom(0, 0, 500, 1000, 4000),
});

function stream(evs: readonly { cat: unknown; a: unknown; b: unknown; host: unknown; dt: number }[]): EventRecord[] {
  let ts = 0;
  return evs.map((e, i) => {
    ts += e.dt;
    return { index: 'i', id: `e${String(i).padStart(3, '0')}`, timestamp: ts, source: { event: { category: e.cat }, a: e.a, b: e.b, host: e.host, seq: i % 3 } };
  });
}

describe('shared evaluation between rules with the same first stage', () => {
  test('every rule finds alone what it finds sharing, for random variants and streams', async () => {
    const base = await shippedRule();
    let shared = 0;
    fc.assert(fc.property(
      fc.record({
        by: fc.constantFrom('host', ''),
        maxspan: fc.constantFrom('', ' with maxspan=2s', ' with maxspan=5s'),
        first: fc.tuple(cat, cond),
        rests: fc.array(fc.array(fc.tuple(cat, cond), { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 4 }),
        runs: fc.boolean(),
        tiebreaker: fc.boolean(),
      }),
      fc.array(event, { maxLength: 50 }),
      (q, evs) => {
        const firstStage = `[${q.first[0]} where ${q.first[1]}]${q.runs ? ' with runs=2' : ''}`;
        const rules: Rule[] = q.rests.map((rest, i) => {
          const query = `sequence${q.by ? ` by ${q.by}` : ''}${q.maxspan} ${firstStage} ${rest.map(([c, x]) => `[${c} where ${x}]`).join(' ')}`;
          return { ...base, ruleId: `r${i}`, query, compiled: compileEql(query), tiebreakerField: q.tiebreaker ? 'seq' : undefined };
        });
        const events = stream(evs);
        const alone = rules.map((r) => {
          const out: string[] = [];
          const ev = new QueryEvaluator(r.compiled, (m) => out.push(`${m.events.map((e) => e.id).join(',')}|${JSON.stringify(m.joinKeys)}`), { tiebreakerField: r.tiebreakerField });
          for (const e of events) ev.push(e);
          ev.flush();
          return out;
        });
        const sharing = shareEvaluation(rules);
        if (sharing.size > 0) shared++;
        const together = rules.map(() => [] as string[]);
        const evaluators = rules.map((r, i) => new QueryEvaluator(r.compiled, (m) => together[i].push(`${m.events.map((e) => e.id).join(',')}|${JSON.stringify(m.joinKeys)}`), {
          tiebreakerField: r.tiebreakerField, front: sharing.get(r)?.front, sharedStart: sharing.get(r)?.sharedStart,
        }));
        // As a shared read feeds them: each event to every rule in turn.
        for (const e of events) for (const ev of evaluators) ev.push(e);
        for (const ev of evaluators) ev.flush();
        assert.deepEqual(together, alone, rules.map((r) => r.query).join('\n'));
      },
    ), { numRuns: Number(process.env.LOOKOUT_FUZZ_RUNS ?? 400), seed: Number(process.env.LOOKOUT_FUZZ_SEED ?? 3) });
    assert.ok(shared > 300, `most generated rule sets share (${shared})`);
  });

  test('rules that differ in their first stage, keys, or that have until or missing stages do not share', async () => {
    const base = await shippedRule();
    const rule = (ruleId: string, query: string): Rule => ({ ...base, ruleId, query, compiled: compileEql(query) });
    const s = shareEvaluation([
      rule('a', 'sequence by host.id [process where a == 1] [network where true]'),
      rule('b', 'sequence by host.id [process where a == 1] [network where b == 2]'),
      rule('c', 'sequence by host.id [process where a == 2] [network where true]'),
      rule('d', 'sequence by user.id [process where a == 1] [network where true]'),
      rule('e', 'sequence by host.id [process where a == 1] [network where true] until [file where true]'),
      rule('f', 'sequence by host.id with maxspan=1m [process where a == 1] ![file where true] [network where true]'),
    ]);
    assert.deepEqual([...s.keys()].map((r) => r.ruleId), ['a', 'b']);
    assert.equal(s.get(s.keys().next().value!)?.sharedStart, [...s.values()][1].sharedStart);
  });
});
