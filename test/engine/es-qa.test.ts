/**
 * Elasticsearch's own EQL QA queries over its QA data, with the event ids Elasticsearch returns
 * (test/fixtures/eql-qa/README.md says where they come from). -1 marks a missing event's place.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { parseTimestamp, type EventRecord, type RuleMatch } from '../../src/engine/events.js';
import { QueryEvaluator } from '../../src/engine/evaluator.js';
import { rawResult } from '../../src/engine/raw.js';

function load(file: string): EventRecord[] {
  const lines = readFileSync(new URL(`../fixtures/eql-qa/${file}`, import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((l, i) => {
    const source = JSON.parse(l) as Record<string, unknown>;
    return { index: 'qa', id: `${source.event_type}-${source.sequence}-${i}`, timestamp: parseTimestamp(source['@timestamp'])!, source };
  }).sort((a, b) => a.timestamp - b.timestamp);
}

/** Ids (the `sequence` field) of each result's events, -1 for a missing one, and the join keys. */
function answer(query: string, events: readonly EventRecord[]): { ids: number[]; keys: unknown[] } {
  const compiled = compileEql(query, { categoryField: 'event_type' });
  const out: RuleMatch[] = [];
  const e = new QueryEvaluator(compiled, (m) => out.push(m), { tiebreakerField: 'sequence' });
  for (const x of events) e.push(x);
  e.flush();
  const ids: number[] = [];
  const keys: unknown[] = [];
  for (const m of out) {
    const r = rawResult(compiled, m);
    for (const ev of r.events) ids.push(ev === null ? -1 : Number(ev.source.sequence));
    keys.push(...r.joinKeys);
  }
  return { ids, keys };
}

interface QaCase {
  readonly name: string;
  readonly query: string;
  readonly ids: readonly number[];
  readonly keys?: readonly unknown[];
}

// test_missing_events.toml (`-[` there is the `![` of the reference docs).
const MISSING: readonly QaCase[] = [
  { name: 'missingInBetween_noMatches', query: 'sequence with maxspan=1s [test1 where tag == "normal"] ![test1 where tag == "nonexisting"] [test1 where tag == "normal"]', ids: [1, -1, 2, 2, -1, 4] },
  { name: 'missingInBetween_noMatches_head', query: 'sequence with maxspan=1s [test1 where tag == "normal"] ![test1 where tag == "nonexisting"] [test1 where tag == "normal"] | head 1', ids: [1, -1, 2] },
  { name: 'missingInBetween_noMatches_tail', query: 'sequence with maxspan=1s [test1 where tag == "normal"] ![test1 where tag == "nonexisting"] [test1 where tag == "normal"] | tail 1', ids: [2, -1, 4] },
  { name: 'missingInBetween_match', query: 'sequence with maxspan=1s [test1 where tag == "normal"] ![test1 where tag == "missing"] [test1 where tag == "normal"]', ids: [1, -1, 2] },
  { name: 'positivePlusMissing', query: 'sequence with maxspan=1s [test1 where tag == "normal"] ![test1 where tag == "missing"]', ids: [4, -1] },
  { name: 'skipFirstMatchAndPickSecondCandidate', query: 'sequence with maxspan=1s [test2 where tag == "normal"] [test2 where tag == "normal"] ![test2 where tag == "missing"] [test2 where tag == "normal"]', ids: [2, 4, -1, 5] },
  { name: 'leadingSimple', query: 'sequence with maxspan=3m ![test3 where tag == "missing"] [test3 where tag == "normal"]', ids: [-1, 2, -1, 5, -1, 6] },
  { name: 'leadingAndTrailingExcluded1', query: 'sequence with maxspan=19m ![test3 where tag == "missing"] [test3 where tag == "normal"] ![test3 where tag == "missing"]', ids: [-1, 2, -1, -1, 4, -1, -1, 5, -1, -1, 6, -1] },
  { name: 'leadingAndTrailingExcluded2', query: 'sequence with maxspan=21m ![test3 where tag == "missing"] [test3 where tag == "normal"] ![test3 where tag == "missing"]', ids: [-1, 4, -1, -1, 5, -1, -1, 6, -1] },
  { name: 'multipleMissing1', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] ![test4 where tag == "M1"] [test4 where tag == "C"] ![test4 where tag == "M2"] [test4 where tag == "D"]', ids: [13, 14, -1, 16, -1, 17] },
  { name: 'multipleMissing2', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] ![test4 where tag == "M1"] [test4 where tag == "C"] [test4 where tag == "D"]', ids: [13, 14, -1, 16, 17] },
  { name: 'multipleMissing3', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] [test4 where tag == "C"] ![test4 where tag == "M2"] [test4 where tag == "D"]', ids: [13, 14, 16, -1, 17] },
  { name: 'multipleMissing4', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] ![test4 where tag == "M1"] [test4 where tag == "C"] ![test4 where tag == "M2"] [test4 where tag == "D"] ![test4 where tag == "M4"]', ids: [] },
  { name: 'multipleMissing5', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] ![test4 where tag == "none"] [test4 where tag == "C"] ![test4 where tag == "none"] [test4 where tag == "D"]', ids: [1, 2, -1, 5, -1, 7, 13, 14, -1, 16, -1, 17] },
  { name: 'multipleMissing6', query: 'sequence with maxspan=1s [test4 where tag == "A"] [test4 where tag == "B"] [test4 where tag == "C"] ![test4 where tag == "M2"] [test4 where tag == "D"] ![test4 where tag == "none"]', ids: [13, 14, 16, -1, 17, -1] },
  { name: 'multipleMissing7', query: 'sequence with maxspan=1s ![test4 where tag == "none"] [test4 where tag == "A"] [test4 where tag == "B"] [test4 where tag == "C"] ![test4 where tag == "M2"] [test4 where tag == "D"]', ids: [-1, 13, 14, 16, -1, 17] },
  { name: 'withByKey1', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] [test5 where tag == "normal"] ![test5 where tag == "missing"] [test5 where tag == "normal"]', ids: [2, 4, -1, 5, 4, 5, -1, 6], keys: ['foo', 'foo'] },
  { name: 'withByKey2', query: 'sequence with maxspan=1s [test5 where tag == "normal"] by k1 [test5 where tag == "normal"] by k1 ![test5 where tag == "missing"] by k1 [test5 where tag == "normal"] by k1', ids: [2, 4, -1, 5, 4, 5, -1, 6], keys: ['foo', 'foo'] },
  { name: 'withByKey3', query: 'sequence with maxspan=1s [test5 where tag == "normal"] by k1 [test5 where tag == "normal"] by k1 ![test5 where tag == "missing"] by k2 [test5 where tag == "normal"] by k1', ids: [2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'foo', 'baz'] },
  { name: 'withByKey4', query: 'sequence by k2 with maxspan=1s [test5 where tag == "normal"] [test5 where tag == "normal"] ![test5 where tag == "missing"] [test5 where tag == "normal"]', ids: [2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'foo', 'baz'] },
  { name: 'withByKey5', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 [test5 where tag == "normal"] by k2 ![test5 where tag == "missing"] by k2 [test5 where tag == "normal"] by k2', ids: [2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'baz', 'baz'] },
  { name: 'withByKey6', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 [test5 where tag == "normal"] by k2 ![test5 where tag == "missing" and `sequence` > 10] by k2 [test5 where tag == "normal"] by k2', ids: [1, 2, -1, 4, 2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'baz', 'baz'] },
  { name: 'withByKey_tail', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 [test5 where tag == "normal"] by k2 ![test5 where tag == "missing" and `sequence` > 10] by k2 [test5 where tag == "normal"] by k2 | tail 2', ids: [5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'baz', 'baz'] },
  { name: 'withByKey_head', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 [test5 where tag == "normal"] by k2 ![test5 where tag == "missing"] by k2 [test5 where tag == "normal"] by k2 | head 2', ids: [2, 4, -1, 5, 4, 5, -1, 6], keys: ['foo', 'foo', 'foo', 'foo'] },
  { name: 'withByKey_runs', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 with runs=2 ![test5 where tag == "missing"] by k2 [test5 where tag == "normal"] by k2', ids: [2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12], keys: ['foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'baz', 'baz'] },
  { name: 'withByKey_runsOnMissing', query: 'sequence by k1 with maxspan=1s [test5 where tag == "normal"] by k2 with runs=2 ![test5 where tag == "missing"] by k2 with runs=2 [test5 where tag == "normal"] by k2', ids: [2, 4, -1, -1, 5, 4, 5, -1, -1, 6, 5, 6, -1, -1, 8, 9, 10, -1, -1, 12], keys: ['foo', 'foo', 'foo', 'foo', 'foo', 'foo', 'baz', 'baz'] },
];

describe("Elasticsearch's QA answers: missing events (test_missing_events.toml)", () => {
  const events = load('missing-events.ndjson');
  for (const c of MISSING) {
    test(c.name, () => {
      const got = answer(c.query, events);
      assert.deepEqual(got.ids, c.ids);
      if (c.keys) assert.deepEqual(got.keys, c.keys);
    });
  }
});
