/**
 * The sequence matcher, after Elasticsearch's SequenceMatcher.
 *
 * Events arrive in order (timestamp, then tiebreaker). For each join key there is at most one
 * pending partial sequence per stage: the newest. Each event is tried against the stages from
 * the last to the first, so one event can extend several partial sequences at different stages
 * without ever extending a sequence it just started or extended. When an event matches stage k
 * it takes the partial waiting at stage k-1 (which is strictly earlier, by arrival order) and
 * moves it to stage k, replacing whatever waited there; at the last stage the sequence is
 * complete and emitted. `[a <= 3] [true] [true]` over ids 1..5 gives 1,2,3 / 2,3,4 / 3,4,5.
 * maxspan is measured from the first event and is inclusive. An `until` event for a key drops
 * every pending partial of that key. Partials older than maxspan are evicted, so memory is
 * bounded by the number of keys active within one maxspan.
 *
 * Join keys: the sequence's `by` fields then the stage's; a multi-valued key yields one key
 * per value (a cartesian product across fields); an event without a key value does not join.
 */
import type { CompiledSequence, CompiledStage } from '../eql/compile.js';
import type { Primitive } from '../eql/fields.js';
import type { EventRecord, RuleMatch } from './events.js';

interface Partial {
  readonly events: readonly EventRecord[];
  readonly firstTs: number;
  readonly key: readonly Primitive[];
}

interface KeyState {
  readonly partials: (Partial | undefined)[];
}

const KEY_SEP = '\u0000';

function keyString(values: readonly Primitive[]): string {
  let s = '';
  for (const v of values) s += (typeof v)[0] + String(v) + KEY_SEP;
  return s;
}

export function joinKeysOf(stage: CompiledStage, doc: unknown): Primitive[][] {
  let combos: Primitive[][] = [[]];
  for (const get of stage.keys) {
    const values = get(doc);
    if (values.length === 0) return [];
    if (values.length === 1) {
      for (const c of combos) c.push(values[0]);
      continue;
    }
    const unique = [...new Set(values)];
    const next: Primitive[][] = [];
    for (const c of combos) for (const v of unique) next.push([...c, v]);
    combos = next;
  }
  return combos;
}

export class SequenceMatcher {
  private readonly states = new Map<string, KeyState>();
  private readonly last: number;
  private sinceSweep = 0;

  constructor(private readonly sequence: CompiledSequence) {
    this.last = sequence.stages.length - 1;
  }

  /** Number of partial sequences held; for measurements and memory bounds. */
  get openPartials(): number {
    let n = 0;
    for (const s of this.states.values()) for (const p of s.partials) if (p) n++;
    return n;
  }

  push(event: EventRecord, emit: (m: RuleMatch) => void): void {
    const { stages, until, maxspanMs } = this.sequence;
    const doc = event.source;
    if (until && until.matches(doc)) {
      for (const key of joinKeysOf(until, doc)) this.states.delete(keyString(key));
    }
    for (let k = this.last; k >= 0; k--) {
      const stage = stages[k];
      if (!stage.matches(doc)) continue;
      for (const key of joinKeysOf(stage, doc)) {
        const ks = keyString(key);
        if (k === 0) {
          let state = this.states.get(ks);
          if (!state) {
            state = { partials: new Array<Partial | undefined>(this.last).fill(undefined) };
            this.states.set(ks, state);
          }
          state.partials[0] = { events: [event], firstTs: event.timestamp, key };
          continue;
        }
        const state = this.states.get(ks);
        const prev = state?.partials[k - 1];
        if (!state || !prev) continue;
        state.partials[k - 1] = undefined;
        if (maxspanMs !== null && event.timestamp - prev.firstTs > maxspanMs) continue;
        const events = [...prev.events, event];
        if (k === this.last) emit({ events, joinKeys: prev.key });
        else state.partials[k] = { events, firstTs: prev.firstTs, key: prev.key };
      }
    }
    if (maxspanMs !== null && ++this.sinceSweep >= 4096) {
      this.sinceSweep = 0;
      this.evict(event.timestamp - maxspanMs);
    }
  }

  /** Drops partial sequences that started before `oldest` (they can no longer complete). */
  evict(oldest: number): void {
    for (const [ks, state] of this.states) {
      let live = false;
      for (let i = 0; i < state.partials.length; i++) {
        const p = state.partials[i];
        if (p && p.firstTs < oldest) state.partials[i] = undefined;
        else if (p) live = true;
      }
      if (!live) this.states.delete(ks);
    }
  }
}
