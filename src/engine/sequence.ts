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
 * maxspan is measured from the first event and is inclusive. `until`, as in Elasticsearch's
 * matcher, is checked when a partial is extended: the step is refused when an until event of the
 * key lies at or after the partial's last event and strictly before the new one, so an until
 * event never cancels the sequence that it completes itself. Partials older than maxspan are
 * evicted, so memory is bounded by the number of keys active within one maxspan.
 *
 * Missing events `![...]` (which need maxspan) are judged as Elasticsearch judges them, once the
 * positive stages are matched: a middle one rejects the sequence when an event matching it, with
 * the same key, has a timestamp strictly between its neighbours' (the doomed partial still
 * advances and takes its place, as in Elasticsearch). Leading and trailing ones are judged
 * together: the nearest leading event (timestamp strictly before the first event) and the nearest
 * trailing one (strictly after the last) reject the sequence only when, with the found events,
 * they fit within maxspan: with both kinds of stage, both must be found and lie within maxspan of
 * each other; with leading ones only, the nearest must lie within maxspan of the last event; with
 * trailing ones only, within maxspan of the first. A sequence that may still meet a trailing
 * event is held until that time has passed (or the stream ends).
 *
 * Join keys: the sequence's `by` fields then the stage's; a multi-valued key yields one key
 * per value (a cartesian product across fields); an event without a key value does not join,
 * unless the key is optional (`by ?field`): then null is its key value, joining other nulls.
 */
import type { CompiledSequence, CompiledStage } from '../eql/compile.js';
import { compileGetter, type Getter, type Primitive } from './fields.js';
import { spanExceeds, type EventRecord, type RuleMatch } from './events.js';

/** A join key value: null for an optional key field that is missing or null. */
export type KeyValue = Primitive | null;

const NULL_KEY: readonly KeyValue[] = Object.freeze([null]);

/** The values of key field `i` of a stage on a document; `[null]` for a missing optional key. */
function keyValues(stage: CompiledStage, i: number, doc: unknown): readonly KeyValue[] {
  const values = stage.keys[i](doc);
  return values.length === 0 && stage.keyFields[i].optional ? NULL_KEY : values;
}

interface Partial {
  readonly events: readonly EventRecord[];
  readonly firstTs: number;
  readonly lastPos: number;
  readonly key: readonly KeyValue[];
  /** Timestamp of the nearest leading-missing event before the first event, if any. */
  readonly leadingMissingTs: number | undefined;
  /** A middle missing stage has an event between its neighbours: dropped when complete. */
  readonly doomed: boolean;
}

/**
 * The latest timestamp at which a missing stage's event was seen for a key, and the latest one
 * strictly before it (events of one timestamp arrive one after the other, and Elasticsearch's
 * ranges for missing events compare timestamps strictly).
 */
interface MissingSeen {
  readonly ts: number;
  readonly before: number | undefined;
}

function latestBefore(seen: MissingSeen | undefined, ts: number): number | undefined {
  if (!seen) return undefined;
  return seen.ts < ts ? seen.ts : seen.before;
}

interface Held {
  readonly partial: Partial;
  readonly lastTs: number;
  /** After this time no trailing event can reject it. */
  readonly deadline: number;
}

interface KeyState {
  readonly partials: (Partial | undefined)[];
}

interface Seen {
  readonly pos: number;
  readonly ts: number;
}

const KEY_SEP = '\u0000';

export function keyString(values: readonly KeyValue[]): string {
  let s = '';
  for (const v of values) s += (v === null ? 'n' : (typeof v)[0] + String(v)) + KEY_SEP;
  return s;
}

export function joinKeysOf(stage: CompiledStage, doc: unknown): KeyValue[][] {
  let combos: KeyValue[][] = [[]];
  for (let i = 0; i < stage.keys.length; i++) {
    const values = keyValues(stage, i, doc);
    if (values.length === 0) return [];
    if (values.length === 1) {
      for (const c of combos) c.push(values[0]);
      continue;
    }
    const unique = [...new Set(values)];
    const next: KeyValue[][] = [];
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
function mapKeysOf(stage: CompiledStage, doc: unknown): { keys: readonly MapKey[]; tuples: readonly KeyValue[][] | null } {
  if (stage.keys.length === 1) {
    const values = keyValues(stage, 0, doc);
    return { keys: values.length <= 1 ? values : [...new Set(values)], tuples: null };
  }
  const tuples = joinKeysOf(stage, doc);
  return { keys: tuples.map(keyString), tuples };
}

type MapKey = KeyValue;

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
        const partial: Partial = { events: [event], firstTs: event.timestamp, lastPos: pos, key: tuples ? tuples[i] : [ks], leadingMissingTs: undefined, doomed: false };
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
  /** Per missing stage: when its events were last seen, per key. */
  private readonly lastMissing: Map<MapKey, MissingSeen>[];
  private readonly leadingStages: readonly number[];
  private readonly trailingStages: readonly number[];
  /** Per key: the position and time of the latest `until` event. */
  private readonly lastUntil = new Map<MapKey, Seen>();
  /** Complete sequences waiting for the time a trailing missing event could still come. */
  private readonly held = new Map<MapKey, Held[]>();
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
    this.leadingStages = before[0];
    this.trailingStages = before[positives.length];
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
    const { until } = this.sequence;
    const doc = event.source;
    const ts = event.timestamp;
    const pos = this.pos++;
    if (this.held.size > 0) this.release(ts, emit);
    for (let m = 0; m < this.missingStages.length; m++) {
      const stage = this.missingStages[m];
      if (!stage.matches(doc)) continue;
      for (const ks of mapKeysOf(stage, doc).keys) {
        const seen = this.lastMissing[m].get(ks);
        this.lastMissing[m].set(ks, { ts, before: seen === undefined ? undefined : seen.ts < ts ? seen.ts : seen.before });
        if (this.trailingStages.includes(m)) this.trailingEvent(ks, ts, emit);
      }
    }
    const candidates = this.candidateStages(doc);
    if (candidates !== 0) this.advance(event, pos, candidates, emit);
    // Recorded after the stages: an until event does not cancel what it extends or completes itself.
    if (until && until.matches(doc)) {
      for (const ks of mapKeysOf(until, doc).keys) this.lastUntil.set(ks, { pos, ts });
    }
    this.afterEvent(ts);
  }

  private advance(event: EventRecord, pos: number, candidates: number, emit: (m: RuleMatch) => void): void {
    const { maxspanMs } = this.sequence;
    const doc = event.source;
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
          for (const m of this.leadingStages) {
            const t = latestBefore(this.lastMissing[m].get(ks), event.timestamp);
            if (t !== undefined && (leadingMissingTs === undefined || t > leadingMissingTs)) leadingMissingTs = t;
          }
          next = { events: [event], firstTs: event.timestamp, lastPos: pos, key: tuples ? tuples[i] : [ks], leadingMissingTs, doomed: false };
        } else if (k === 1 && this.shared) {
          const entry = this.shared.before(ks, pos);
          const taken = this.taken.get(ks);
          if (!entry || (taken !== undefined && entry.pos <= taken.pos)) continue;
          this.taken.set(ks, { pos: entry.pos, ts: entry.partial.firstTs });
          const prev = entry.partial;
          if (maxspanMs !== null && spanExceeds(prev.events[0], event, maxspanMs)) continue;
          next = { events: [...prev.events, event], firstTs: prev.firstTs, lastPos: pos, key: prev.key, leadingMissingTs: undefined, doomed: false };
        } else {
          const state = this.states.get(ks);
          const prev = state?.partials[k - 1];
          if (!state || !prev) continue;
          state.partials[k - 1] = undefined;
          if (maxspanMs !== null && spanExceeds(prev.events[0], event, maxspanMs)) continue;
          if (this.sequence.until !== null) {
            const u = this.lastUntil.get(ks);
            if (u !== undefined && u.pos >= prev.lastPos) continue;
          }
          const doomed = prev.doomed || (this.missingBefore[k].length > 0 && this.middleMissing(k, ks, prev, event.timestamp));
          next = { events: [...prev.events, event], firstTs: prev.firstTs, lastPos: pos, key: prev.key, leadingMissingTs: prev.leadingMissingTs, doomed };
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
  }

  /** Whether a missing stage just before positive stage k has an event of the key strictly between the partial's last event and `ts`. */
  private middleMissing(k: number, ks: MapKey, prev: Partial, ts: number): boolean {
    const prevTs = prev.events[prev.events.length - 1].timestamp;
    for (const m of this.missingBefore[k]) {
      const t = latestBefore(this.lastMissing[m].get(ks), ts);
      if (t !== undefined && t > prevTs) return true;
    }
    return false;
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
    if (p.doomed) return;
    const maxspan = this.sequence.maxspanMs ?? 0;
    const lastTs = p.events[p.events.length - 1].timestamp;
    const leading = this.leadingStages.length > 0;
    if (this.trailingStages.length === 0) {
      if (leading && p.leadingMissingTs !== undefined && lastTs - p.leadingMissingTs <= maxspan) return;
      emit({ events: p.events, joinKeys: p.key });
      return;
    }
    // With leading stages too, a trailing event rejects only together with a leading one.
    if (leading && p.leadingMissingTs === undefined) {
      emit({ events: p.events, joinKeys: p.key });
      return;
    }
    const deadline = (leading ? p.leadingMissingTs! : p.firstTs) + maxspan;
    const list = this.held.get(ks) ?? [];
    list.push({ partial: p, lastTs, deadline });
    this.held.set(ks, list);
  }

  /** The first trailing-missing event after a held sequence decides it: rejected if in time, else kept. */
  private trailingEvent(ks: MapKey, ts: number, emit: (m: RuleMatch) => void): void {
    const list = this.held.get(ks);
    if (!list) return;
    const kept: Held[] = [];
    for (const h of list) {
      if (ts <= h.lastTs) kept.push(h);
      else if (ts > h.deadline) emit({ events: h.partial.events, joinKeys: h.partial.key });
    }
    if (kept.length > 0) this.held.set(ks, kept);
    else this.held.delete(ks);
  }

  /** Emits held sequences whose trailing-missing window has passed, in the order of their last events. */
  private release(now: number, emit: (m: RuleMatch) => void, all = false): void {
    const due: Held[] = [];
    for (const [ks, list] of this.held) {
      const rest = all ? [] : list.filter((h) => now <= h.deadline);
      if (rest.length === list.length) continue;
      for (const h of list) if (all || now > h.deadline) due.push(h);
      if (rest.length > 0) this.held.set(ks, rest);
      else this.held.delete(ks);
    }
    due.sort((a, b) => a.partial.lastPos - b.partial.lastPos);
    for (const h of due) emit({ events: h.partial.events, joinKeys: h.partial.key });
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
    for (const [ks, u] of this.lastUntil) if (u.ts < oldest) this.lastUntil.delete(ks);
    // A missing event older than maxspan before any possible sequence no longer matters.
    for (const seen of this.lastMissing) {
      for (const [ks, s] of seen) if (s.ts < oldest - (this.sequence.maxspanMs ?? 0)) seen.delete(ks);
    }
  }
}
