/**
 * Fuzzing (fast-check) the EQL parser and compiler, the Sigma loader and the evaluators: any
 * input gives a result or one of Lookout's own errors, never a crash of another kind; events of
 * any shape are evaluated or skipped, never fatal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MemoryAlertSink } from '../../src/alerts/writer.js';
import type { EventRecord } from '../../src/engine/events.js';
import { runRule } from '../../src/engine/run.js';
import { compileEql } from '../../src/eql/compile.js';
import { LookoutError } from '../../src/errors.js';
import { shippedRule } from '../helpers/rules.js';
import { sigmaRules } from '../helpers/sigma.js';

const RUNS = Number(process.env.LOOKOUT_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.LOOKOUT_FUZZ_SEED ?? 7);

const eqlTokens = fc.constantFrom(
  'sequence', 'sample', 'by', 'with', 'maxspan', '=', '30s', 'runs', 'until', '[', ']', '![', 'process', 'network', 'any', 'where',
  'and', 'or', 'not', '(', ')', '==', '!=', '<', '>=', ':', 'like~', 'regex', 'in', 'in~', ',', '|', 'head', 'tail', '5',
  'process.name', '?user.name', '`a b`', '"cmd.exe"', '"*a*a*b"', '"""raw"""', '"\\u{41}"', '1.5', '-2', 'true', 'null',
  'startsWith(', 'length(', 'cidrMatch(', 'between~(', 'concat(', '+', '*', '/', '%', '"(a*)*b"', '"\\\\"',
);

describe('fuzzing', () => {
  test('the EQL parser and compiler: a query or a LookoutError with a position, never anything else', () => {
    fc.assert(fc.property(fc.oneof(fc.array(eqlTokens, { maxLength: 30 }).map((t) => t.join(' ')), fc.string({ maxLength: 200 })), (source) => {
      try {
        compileEql(source);
      } catch (err) {
        assert.ok(err instanceof LookoutError, `${JSON.stringify(source)} threw ${String(err)}`);
        assert.match(err.message, /\(\d+:\d+\)$/);
      }
    }), { numRuns: RUNS * 5, seed: SEED });
  });

  test('the Sigma loader: outcomes (rules, skipped, errors with positions), never a throw', () => {
    const keys = fc.constantFrom('title', 'logsource', 'detection', 'condition', 'selection', 'Image|endswith', 'CommandLine|re', 'x|base64offset|contains', 'level', 'correlation', 'timeframe', 'rules', 'type');
    const values = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null), fc.constantFrom('selection and not filter', '1 of sel*', 'sel | count(x) by y > 3', '(a', '[', '*\\', 'event_count'));
    const node: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      n: fc.oneof({ depthSize: 'small' }, values, fc.array(tie('n'), { maxLength: 3 }), fc.dictionary(keys, tie('n'), { maxKeys: 4 })),
    })).n;
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), node.map((n) => JSON.stringify(n))), (text) => {
      const out = sigmaRules(text);
      for (const e of out.errors) assert.match(e, /^test\.yml(:\d+:\d+)?: /);
    }), { numRuns: RUNS, seed: SEED });
  });

  test('evaluation: events of any shape are evaluated without a crash', async () => {
    const rule = await shippedRule();
    const sigma = sigmaRules('title: t\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    CommandLine|contains|all: [a, b]\n    Image|re: "a+b"\n  kw:\n    - mimikatz\n  condition: sel or kw\n').rules[0];
    await fc.assert(fc.asyncProperty(fc.array(fc.object({ maxDepth: 4 }), { maxLength: 20 }), async (docs) => {
      const events: EventRecord[] = docs.map((source, i) => ({ index: 'winlogbeat-x', id: String(i), timestamp: i, source }));
      await runRule(rule, events, new MemoryAlertSink(), { now: new Date(0) });
      await runRule(sigma, events, new MemoryAlertSink(), { now: new Date(0) });
    }), { numRuns: RUNS, seed: SEED });
  });

  test('hostile events: a 1 MB string, deep nesting, huge arrays, objects where strings belong', async () => {
    const rule = await shippedRule();
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 5000; i++) deep = { n: deep };
    const big = 'a'.repeat(1 << 20);
    const sources: Record<string, unknown>[] = [
      { event: { category: ['network'] }, host: { id: 'h', os: { type: 'windows' } }, process: { pid: 4 }, network: { direction: big }, destination: { port: 5985 }, source: { ip: big } },
      { event: { category: ['process'], type: ['start'] }, host: { id: 'h', os: { type: 'windows' } }, process: { parent: { name: { nested: 'winrshost.exe' } }, executable: ['x', 1, null, { a: 1 }] } },
      { event: { category: Array.from({ length: 100_000 }, (_, i) => `c${i}`) }, deep },
      { event: null, host: [], process: 'not an object', 'process.pid': [[[4]]] },
    ];
    const counts = await runRule(rule, sources.map((source, i) => ({ index: 'i', id: String(i), timestamp: i, source })), new MemoryAlertSink(), { now: new Date(0) });
    assert.equal(counts.eventsRead, 4);
    assert.equal(counts.matches, 0);
  });
});
