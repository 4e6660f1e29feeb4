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
import type { FieldTypeMap } from '../../src/eql/types.js';
import { fieldTypesFromDocument } from '../../src/eql/mapping-types.js';

function load(file: string): EventRecord[] {
  const lines = readFileSync(new URL(`../fixtures/eql-qa/${file}`, import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((l, i) => {
    const source = JSON.parse(l) as Record<string, unknown>;
    return { index: 'qa', id: `${source.event_type}-${source.sequence}-${i}`, timestamp: parseTimestamp(source['@timestamp'])!, source };
  }).sort((a, b) => a.timestamp - b.timestamp);
}

/** Search hits in file order; the line number is the time (the sample data has no timestamps). */
function loadHits(file: string): EventRecord[] {
  const lines = readFileSync(new URL(`../fixtures/eql-qa/${file}`, import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((l, i) => {
    const hit = JSON.parse(l) as { _index: string; _id: string; _source: Record<string, unknown> };
    return { index: hit._index, id: hit._id, timestamp: i, source: hit._source };
  });
}

/** Ids (the `id` field) of each sample's events, and the join keys as Elasticsearch prints them. */
function samples(query: string, events: readonly EventRecord[], maxSamplesPerKey?: number, fieldTypes?: FieldTypeMap): { ids: number[]; keys: string[] } {
  const compiled = compileEql(query, { categoryField: 'event_type', fieldTypes });
  const out: RuleMatch[] = [];
  const e = new QueryEvaluator(compiled, (m) => out.push(m), { maxSamplesPerKey });
  for (const x of events) e.push(x);
  e.flush();
  return { ids: out.flatMap((m) => m.events.map((x) => Number(x.source.id))), keys: out.flatMap((m) => m.joinKeys.map((k) => String(k))) };
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

// test_sample.toml (those whose keys need no date format from a mapping; where Elasticsearch
// says its answer is not deterministic, the first of its answers, which search order gives).
const SAMPLES: readonly QaCase[] = [
  { name: 'anyRulesWithOneDifferentNameKey', query: 'sample by host [any where uptime > 0] by os [any where port > 100] by op_sys [any where bool == true] by os', ids: [17, 26, 16, 13, 23, 110], keys: ['doom', 'redhat', 'farcry', 'win10'] },
  { name: 'complexFilters', query: 'sample by host [any where uptime > 0 and host == "doom" and (uptime > 15 or bool == true)] by os [any where port > 100 and ip == "10.0.0.5" or op_sys : "REDHAT"] by op_sys [any where bool == true] by os', ids: [17, 26, 16], keys: ['doom', 'redhat'] },
  { name: 'anyRulesWithORFilters', query: 'sample by bool, host [any where uptime > 0 or bool == false] [any where port > 10000 or bool == false]', ids: [13, 23, 17, 16], keys: ['false', 'farcry', 'true', 'doom'] },
  { name: 'failureEventTypeWithORFilters', query: 'sample by bool, host [failure where uptime > 0 or bool == false] [any where port > 10000 or bool == false]', ids: [17, 16], keys: ['true', 'doom'] },
  { name: 'alertEventTypeRulesWithORFilters', query: 'sample by bool, host [alert where uptime > 0 or bool == false] [alert where port > 10000 or bool == false]', ids: [13, 23], keys: ['false', 'farcry'] },
  { name: 'ipAsKey', query: 'sample by host [any where bool == true] by host_ip [any where uptime > 0] by ip [any where port > 100] by ip', ids: [36, 28, 11], keys: ['doom', '10.0.0.1'] },
  { name: 'keywordAsKey', query: 'sample by missing_keyword [success where true] by host [failure where host == "doom"] by host', ids: [18, 37], keys: ['test', 'doom'] },
  { name: 'simpleIpAsKey', query: 'sample [success where true] by ip [alert where startsWith~(os,"win")] by host_ip', ids: [28, 31], keys: ['10.0.0.1'] },
  { name: 'nullValueAsJoinKey', query: 'sample by missing_keyword [alert where missing_keyword == null and id == 110] [alert where bool == false]', ids: [], keys: [] },
  { name: 'optionalFieldAsKeyAndFirstFilter', query: 'sample by ?x [failure where ?x == null and id == 17] [failure where id == 27] [any where id == 37]', ids: [17, 27, 37], keys: ['null'] },
  { name: 'optionalFieldAsKeyAndSecondFilter', query: 'sample by ?x [any where id == 11] [any where ?x == null]', ids: [11, 12], keys: ['null'] },
  { name: 'optionalFieldAsQueryKeys', query: 'sample by ?x [success where id == 18] by ?y [failure where id == 17] by ?z', ids: [18, 17], keys: ['null', 'null'] },
  { name: 'optionalFieldAsKeyAndMultipleConditions', query: 'sample by ?x, ?y [failure where (?x == null or ?y == null) and id == 17] [success where (?y == null and ?x == null) and id == 18]', ids: [17, 18], keys: ['null', 'null'] },
  { name: 'optionalFieldAsQueryKeysOnly', query: 'sample by host [success where id == 38] by ?z [success where ?x == ?y and id == 28] by ?y [alert where id == 11] by ?x', ids: [38, 28, 11], keys: ['doom', 'null'] },
  { name: 'allKeysOptional', query: 'sample by ?host, ?os [success where true] [alert where true]', ids: [29, 24, 28, 21, 18, 11], keys: ['GTA', 'null', 'doom', 'null', 'doom', 'win10'] },
  { name: 'oneKeyOptional_1', query: 'sample by ?host, os [success where true] [alert where true]', ids: [18, 11], keys: ['doom', 'win10'] },
  { name: 'oneKeyOptional_2', query: 'sample by host, ?os [success where true] [alert where true and id == 21 or id == 24 or id == 11]', ids: [29, 24, 28, 21, 18, 11], keys: ['GTA', 'null', 'doom', 'null', 'doom', 'win10'] },
  { name: 'noOptionalKeys', query: 'sample by host, os [success where true] [alert where true]', ids: [18, 11], keys: ['doom', 'win10'] },
];

describe("Elasticsearch's QA answers: samples (test_sample.toml)", () => {
  const events = loadHits('sample.ndjson');
  for (const c of SAMPLES) {
    test(c.name, () => {
      const got = samples(c.query, events);
      assert.deepEqual(got.ids, c.ids);
      assert.deepEqual(got.keys, c.keys);
    });
  }

  test('with the indices\' mappings (types, date formats), the same answers', () => {
    const types = fieldTypesFromDocument(JSON.parse(readFileSync(new URL('../fixtures/eql-qa/sample-mapping.json', import.meta.url), 'utf8')), 'sample-mapping.json');
    for (const c of SAMPLES) {
      const got = samples(c.query, events, undefined, types);
      assert.deepEqual([got.ids, got.keys], [c.ids, c.keys], c.name);
    }
  });

  // Keys from date fields with each index's own format: joined as points in time, printed as epoch milliseconds.
  const DATES: readonly QaCase[] = [
    { name: 'customDateFormatAsKey_SameIndexResults', query: 'sample by @timestamp_pretty [alert where true] [failure where true]', ids: [15, 17], keys: ['1671235200000'] },
    { name: 'customDateFormatsAsKey_DifferentIndicesResults', query: 'sample by @timestamp_pretty [alert where true] [failure where op_sys == "redhat"]', ids: [15, 27], keys: ['1671235200000'] },
    { name: 'customDateFormatsAsKey_DifferentKeyNames', query: 'sample [success where stringContains~(os,"10")] by date [failure where os == "redhat"] by @timestamp_pretty', ids: [38, 17], keys: ['1671235200000'] },
  ];
  for (const c of DATES) {
    test(c.name, () => {
      const types = fieldTypesFromDocument(JSON.parse(readFileSync(new URL('../fixtures/eql-qa/sample-mapping.json', import.meta.url), 'utf8')), 'sample-mapping.json');
      const got = samples(c.query, events, undefined, types);
      assert.deepEqual([got.ids, got.keys], [c.ids, c.keys]);
    });
  }

  test('max_samples_per_key: up to N samples per key, events reused across them, in backtracking order', () => {
    // Key doom/win10: success candidates 18, 38; alert candidates 11, 31 (filters + N - 1 = 3 each at most).
    assert.deepEqual(samples('sample by host, os [success where true] [alert where true]', events, 3).ids, [18, 11, 18, 31, 38, 11]);
    assert.deepEqual(samples('sample by host, os [success where true] [alert where true]', events, 2).ids, [18, 11, 18, 31]);
    // One event matching both filters is never used twice within a sample.
    assert.deepEqual(samples('sample by host [any where id == 16 or id == 17] [any where id == 17 or id == 16]', events, 5).ids, [16, 17, 17, 16]);
  });
});
