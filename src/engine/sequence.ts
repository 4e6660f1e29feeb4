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
 * Missing events `![...]` (which need maxspan): the matching above runs over the positive
 * stages only. A missing stage between two positive ones rejects the step when an event
 * matching it, with the same key, arrived strictly between them. A leading one rejects a
 * sequence when the nearest such event before its first event lies within maxspan of its last
 * event. A trailing one holds a complete sequence until maxspan after its first event has
 * passed (or the stream ends) and rejects it if such an event arrives within that time.
 *
 * Join keys: the sequence's `by` fields then the stage's; a multi-valued key yields one key
 * per value (a cartesian product across fields); an event without a key value does not join.
 */
import type { CompiledSequence, CompiledStage } from '../eql/compile.js';
import { compileGetter, type Getter, type Primitive } from '../eql/fields.js';
import type { EventRecord, RuleMatch } from './events.js';

interface Partial {
  readonly events: readonly EventRecord[];
  readonly firstTs: number;
  readonly lastPos: number;
  readonly key: readonly Primitive[];
  /** Timestamp of the nearest leading-missing event before the first event, if any. */
  readonly leadingMissingTs?: number;
}

interface KeyState {
  readonly partials: (Partial | undefined)[];
}

interface Seen {
  readonly pos: number;
  readonly ts: number;
}

const KEY_SEP = '\u0000';

export function keyString(values: readonly Primitive[]): string {
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

/**
 * Map keys for an event's join keys at a stage: with one key field the value itself (a Map tells
 * "1" from 1 and "true" from true, so no string needs building), with several a composite
 * string. `tuples` holds the key values for each map key when there are several fields.
 */
function mapKeysOf(stage: CompiledStage, doc: unknown): { keys: readonly MapKey[]; tuples: readonly Primitive[][] | null } {
  if (stage.keys.length === 1) {
    const values = stage.keys[0](doc);
    return { keys: values.length <= 1 ? values : [...new Set(values)], tuples: null };
  }
  const tuples = joinKeysOf(stage, doc);
  return { keys: tuples.map(keyString), tuples };
}

type MapKey = Primitive;

/**
 * The first stage's partial sequences, kept once for rules whose first stage is the same (same
 * condition, same join keys, same events in the same order: engine/share.ts decides). Each rule
 * still consumes a partial for itself: its matcher remembers, per key, the position of the last
 * one it took. The matchers are fed each event in turn (SharedFront), so the first of them to
 * reach the first stage for an event records it, and the entry before it stays readable for the
 * others (`before`).
 */
export class SharedStart {
  private readonly entries = new Map<MapKey, { cur: StartEntry; prev: StartEntry | undefined }>();
  private recorded = -1;
  private sinceSweep = 0;

  constructor(private readonly stage: CompiledStage, private readonly maxspanMs: number | null) {}

  get size(): number {
    return this.entries.size;
  }

  /** Called by each matcher whose event at `pos` may be a first-stage event; acts once per position. */
  record(pos: number, event: EventRecord): void {
    if (pos <= this.recorded) return;
    this.recorded = pos;
    const doc = event.source;
    if (this.stage.condition(doc)) {
      const { keys, tuples } = mapKeysOf(this.stage, doc);
      for (let i = 0; i < keys.length; i++) {
        const ks = keys[i];
        const partial: Partial = { events: [event], firstTs: event.timestamp, lastPos: pos, key: tuples ? tuples[i] : [ks] };
        this.entries.set(ks, { cur: { partial, pos }, prev: this.entries.get(ks)?.cur });
      }
    }
    if (this.maxspanMs !== null && ++this.sinceSweep >= 4096) {
      this.sinceSweep = 0;
      for (const [ks, e] of this.entries) if (e.cur.partial.firstTs < event.timestamp - this.maxspanMs) this.entries.delete(ks);
    }
  }

  /** The newest first-stage partial of this key that arrived before `pos`. */
  before(ks: MapKey, pos: number): StartEntry | undefined {
    const e = this.entries.get(ks);
    if (!e) return undefined;
    if (e.cur.pos < pos) return e.cur;
    return e.prev !== undefined && e.prev.pos < pos ? e.prev : undefined;
  }
}

interface StartEntry {
  readonly partial: Partial;
  readonly pos: number;
}

export class SequenceMatcher {
  private readonly states = new Map<MapKey, KeyState>();
  /** With a shared first stage: per key, the position and time of the first-stage partial this rule last took. */
  private readonly taken = new Map<MapKey, Seen>();
  private readonly positives: readonly CompiledStage[];
  /** Missing stages before positive stage p (index p), and after the last (index P). */
  private readonly missingBefore: readonly (readonly number[])[];
  private readonly missingStages: readonly CompiledStage[];
  /** Per missing stage: the latest matching event per key. */
  private readonly lastMissing: Map<MapKey, Seen>[];
  private readonly held = new Map<MapKey, Partial[]>();
  private readonly last: number;
  /** Positive stages (bit k) that can take an event of a category, and those that take any. */
  private readonly stagesByCategory = new Map<string, number>();
  private readonly anyCategoryStages: number;
  private readonly categories: Getter;
  private pos = 0;
  private sinceSweep = 0;

  constructor(private readonly sequence: CompiledSequence, private readonly shared?: SharedStart) {
    const positives: CompiledStage[] = [];
    const missingStages: CompiledStage[] = [];
    const before: number[][] = [[]];
    for (const s of sequence.stages) {
      if (s.missing) {
        before[positives.length].push(missingStages.length);
        missingStages.push(s);
      } else {
        positives.push(s);
        before.push([]);
      }
    }
    this.positives = positives;
    this.missingStages = missingStages;
    this.missingBefore = before;
    this.lastMissing = missingStages.map(() => new Map());
    this.last = positives.length - 1;
    // Beyond 31 positive stages a bit mask cannot say which; every stage is then tried.
    let any = positives.length > 31 ? -1 : 0;
    positives.forEach((p, k) => {
      if (any === -1) return;
      if (p.category === null) any |= 1 << k;
      else this.stagesByCategory.set(p.category, (this.stagesByCategory.get(p.category) ?? 0) | (1 << k));
    });
    this.anyCategoryStages = any;
    this.categories = compileGetter(sequence.categoryField);
  }

  /** Bit k: positive stage k can match this event by its category (read once per event). */
  private candidateStages(doc: unknown): number {
    let mask = this.anyCategoryStages;
    if (mask === -1) return mask;
    for (const c of this.categories(doc)) if (typeof c === 'string') mask |= this.stagesByCategory.get(c) ?? 0;
    return mask;
  }

  /** Number of partial sequences held; for measurements and memory bounds. */
  get openPartials(): number {
    let n = 0;
    for (const s of this.states.values()) for (const p of s.partials) if (p) n++;
    for (const h of this.held.values()) n += h.length;
    return n;
  }

  push(event: EventRecord, emit: (m: RuleMatch) => void): void {
    const { until, maxspanMs } = this.sequence;
    const doc = event.source;
    const pos = this.pos++;
    if (this.held.size > 0) this.release(event.timestamp, emit);
    if (until && until.matches(doc)) {
      for (const ks of mapKeysOf(until, doc).keys) this.states.delete(ks);
    }
    for (let m = 0; m < this.missingStages.length; m++) {
      const stage = this.missingStages[m];
      if (!stage.matches(doc)) continue;
      for (const ks of mapKeysOf(stage, doc).keys) {
        this.lastMissing[m].set(ks, { pos, ts: event.timestamp });
        if (this.missingBefore[this.last + 1].includes(m)) this.rejectHeld(ks, event, maxspanMs ?? 0);
      }
    }
    const candidates = this.candidateStages(doc);
    if (candidates === 0) return this.afterEvent(event.timestamp);
    for (let k = this.last; k >= 0; k--) {
      if ((candidates & (1 << k)) === 0) continue;
      const stage = this.positives[k];
      if (k === 0 && this.shared) {
        this.shared.record(pos, event);
        continue;
      }
      if (!stage.condition(doc)) continue;
      const { keys, tuples } = mapKeysOf(stage, doc);
      for (let i = 0; i < keys.length; i++) {
        const ks = keys[i];
        let next: Partial;
        if (k === 0) {
          let leadingMissingTs: number | undefined;
          for (const m of this.missingBefore[0]) {
            const seen = this.lastMissing[m].get(ks);
            if (seen && seen.pos < pos && (leadingMissingTs === undefined || seen.ts > leadingMissingTs)) leadingMissingTs = seen.ts;
          }
          next = { events: [event], firstTs: event.timestamp, lastPos: pos, key: tuples ? tuples[i] : [ks], leadingMissingTs };
        } else if (k === 1 && this.shared) {
          const entry = this.shared.before(ks, pos);
          const taken = this.taken.get(ks);
          if (!entry || (taken !== undefined && entry.pos <= taken.pos)) continue;
          this.taken.set(ks, { pos: entry.pos, ts: entry.partial.firstTs });
          const prev = entry.partial;
          if (maxspanMs !== null && event.timestamp - prev.firstTs > maxspanMs) continue;
          next = { events: [...prev.events, event], firstTs: prev.firstTs, lastPos: pos, key: prev.key };
        } else {
          const state = this.states.get(ks);
          const prev = state?.partials[k - 1];
          if (!state || !prev) continue;
          state.partials[k - 1] = undefined;
          if (maxspanMs !== null && event.timestamp - prev.firstTs > maxspanMs) continue;
          if (this.missingBefore[k].some((m) => {
            const seen = this.lastMissing[m].get(ks);
            return seen !== undefined && seen.pos > prev.lastPos && seen.pos < pos;
          })) continue;
          next = { events: [...prev.events, event], firstTs: prev.firstTs, lastPos: pos, key: prev.key, leadingMissingTs: prev.leadingMissingTs };
        }
        if (k === this.last) {
          this.complete(next, ks, emit);
          continue;
        }
        let state = this.states.get(ks);
        if (!state) {
          state = { partials: new Array<Partial | undefined>(this.last).fill(undefined) };
          this.states.set(ks, state);
        }
        state.partials[k] = next;
      }
    }
    this.afterEvent(event.timestamp);
  }

  /** Every few thousand events, partials older than maxspan are dropped. */
  private afterEvent(ts: number): void {
    const maxspanMs = this.sequence.maxspanMs;
    if (maxspanMs !== null && ++this.sinceSweep >= 4096) {
      this.sinceSweep = 0;
      this.evict(ts - maxspanMs);
    }
  }

  private complete(p: Partial, ks: MapKey, emit: (m: RuleMatch) => void): void {
    const maxspan = this.sequence.maxspanMs;
    const lastTs = p.events[p.events.length - 1].timestamp;
    if (p.leadingMissingTs !== undefined && maxspan !== null && lastTs - p.leadingMissingTs <= maxspan) return;
    if (this.missingBefore[this.last + 1].length > 0) {
      const list = this.held.get(ks) ?? [];
      list.push(p);
      this.held.set(ks, list);
      return;
    }
    emit({ events: p.events, joinKeys: p.key });
  }

  private rejectHeld(ks: MapKey, event: EventRecord, maxspan: number): void {
    const list = this.held.get(ks);
    if (!list) return;
    const kept = list.filter((p) => !(event.timestamp - p.firstTs <= maxspan));
    if (kept.length > 0) this.held.set(ks, kept);
    else this.held.delete(ks);
  }

  /** Emits held sequences whose trailing-missing window has passed. */
  private release(now: number, emit: (m: RuleMatch) => void, all = false): void {
    const maxspan = this.sequence.maxspanMs ?? 0;
    for (const [ks, list] of this.held) {
      const due = all ? list : list.filter((p) => now > p.firstTs + maxspan);
      if (due.length === 0) continue;
      for (const p of due) emit({ events: p.events, joinKeys: p.key });
      const rest = all ? [] : list.filter((p) => now <= p.firstTs + maxspan);
      if (rest.length > 0) this.held.set(ks, rest);
      else this.held.delete(ks);
    }
  }

  /** End of the stream: sequences held for a trailing missing event are emitted. */
  finish(emit: (m: RuleMatch) => void): void {
    this.release(Number.POSITIVE_INFINITY, emit, true);
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
    for (const [ks, t] of this.taken) if (t.ts < oldest) this.taken.delete(ks);
    // A missing event older than maxspan before any possible sequence no longer matters.
    for (const seen of this.lastMissing) {
      for (const [ks, s] of seen) if (s.ts < oldest - (this.sequence.maxspanMs ?? 0)) seen.delete(ks);
    }
  }
}
