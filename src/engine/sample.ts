/**
 * `sample by <keys> [f1] [f2] ...`: for each join key, one event per filter (in filter order,
 * with no time ordering between them and no event used twice); the first complete set per key
 * is the sample, and a key gives one sample.
 */
import type { CompiledSample } from '../eql/compile.js';
import type { EventRecord, RuleMatch } from './events.js';
import { joinKeysOf, keyString } from './sequence.js';

interface SampleState {
  readonly slots: (EventRecord | undefined)[];
  done: boolean;
}

export class SampleMatcher {
  private readonly states = new Map<string, SampleState>();

  constructor(private readonly sample: CompiledSample) {}

  get openPartials(): number {
    let n = 0;
    for (const s of this.states.values()) if (!s.done) n++;
    return n;
  }

  push(event: EventRecord, emit: (m: RuleMatch) => void): void {
    const filters = this.sample.stages;
    for (let i = 0; i < filters.length; i++) {
      if (!filters[i].matches(event.source)) continue;
      for (const key of joinKeysOf(filters[i], event.source)) {
        const ks = keyString(key);
        let state = this.states.get(ks);
        if (!state) {
          state = { slots: new Array<EventRecord | undefined>(filters.length).fill(undefined), done: false };
          this.states.set(ks, state);
        }
        if (state.done || state.slots[i] || state.slots.includes(event)) continue;
        state.slots[i] = event;
        if (state.slots.every((s) => s !== undefined)) {
          state.done = true;
          emit({ events: [...(state.slots as EventRecord[])], joinKeys: key });
        }
      }
    }
  }
}
