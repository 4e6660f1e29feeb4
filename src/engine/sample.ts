/**
 * `sample by <keys> [f1] [f2] ...`, as Elasticsearch answers it (its SampleIterator). Samples
 * have no time order: for each join key value, the first `filters + max_samples_per_key - 1`
 * events of each filter are the candidates (Elasticsearch's size for each filter's search), and a
 * sample takes one event per filter, in filter order, no event twice within a sample. The
 * samples of a key are the first `max_samples_per_key` such combinations in backtracking order
 * (filter 1's candidates first, then filter 2's, ...), so an event may appear in several samples
 * of its key. Keys come out in order of their values, field by field, null first (a composite
 * aggregation's order, `missing_bucket` for optional keys). Samples are emitted when the stream
 * ends; memory is the candidates of each key.
 */
import type { CompiledSample } from '../eql/compile.js';
import type { EventRecord, RuleMatch } from './events.js';
import { joinKeysOf, keyString, type KeyValue } from './sequence.js';

interface KeyCandidates {
  readonly key: readonly KeyValue[];
  readonly lists: EventRecord[][];
}

export class SampleMatcher {
  private readonly byKey = new Map<string, KeyCandidates>();
  private readonly perFilter: number;

  /** `maxSamplesPerKey`: Elasticsearch's `max_samples_per_key` request parameter, default 1. */
  constructor(private readonly sample: CompiledSample, private readonly maxSamplesPerKey = 1) {
    this.perFilter = sample.stages.length + maxSamplesPerKey - 1;
  }

  get openPartials(): number {
    return this.byKey.size;
  }

  push(event: EventRecord): void {
    const filters = this.sample.stages;
    for (let i = 0; i < filters.length; i++) {
      if (!filters[i].matches(event.source)) continue;
      for (const key of joinKeysOf(filters[i], event.source)) {
        const ks = keyString(key);
        let c = this.byKey.get(ks);
        if (!c) {
          c = { key, lists: filters.map(() => []) };
          this.byKey.set(ks, c);
        }
        if (c.lists[i].length < this.perFilter) c.lists[i].push(event);
      }
    }
  }

  /** End of the stream: the samples of every key, keys in order. */
  finish(emit: (m: RuleMatch) => void): void {
    const keys = [...this.byKey.values()].filter((c) => c.lists.every((l) => l.length > 0));
    keys.sort((a, b) => compareKeys(a.key, b.key));
    for (const c of keys) {
      for (const events of combinations(c.lists, this.maxSamplesPerKey)) emit({ events, joinKeys: c.key });
    }
    this.byKey.clear();
  }
}

/** Up to `max` picks of one event per list, no event twice, in backtracking order. */
export function combinations(lists: readonly (readonly EventRecord[])[], max: number): EventRecord[][] {
  const out: EventRecord[][] = [];
  const pick: EventRecord[] = [];
  const step = (i: number): void => {
    for (const e of lists[i]) {
      if (out.length >= max) return;
      if (pick.includes(e)) continue;
      pick.push(e);
      if (i === lists.length - 1) out.push([...pick]);
      else step(i + 1);
      pick.pop();
    }
  };
  step(0);
  return out;
}

const TYPE_ORDER: Readonly<Record<string, number>> = { boolean: 0, number: 1, string: 2 };

/** Field by field: null first, then by value (numbers numerically, strings by code unit). */
export function compareKeys(a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    if (typeof x !== typeof y) return TYPE_ORDER[typeof x] - TYPE_ORDER[typeof y];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}
