/**
 * A deliberately simple reference for the sequence and sample matchers, written from
 * Elasticsearch's rules rather than from engine/sequence.ts and engine/sample.ts: all events are
 * in memory, stages are matched one after the other over the whole input (as Elasticsearch's
 * window does when everything fits one page), with lists instead of slots, and missing events
 * are checked by scanning every event once a sequence is complete. Slow on purpose; small inputs.
 */
import type { CompiledSample, CompiledSequence, CompiledStage } from '../../src/eql/compile.js';
import type { EventRecord } from '../../src/engine/events.js';

export interface RefResult {
  readonly ids: readonly string[];
  readonly keys: readonly unknown[];
}

type Key = readonly (string | number | boolean | null)[];

/** Every join key tuple of an event at a stage (cartesian product, null for a missing optional key). */
function keysOf(stage: CompiledStage, doc: unknown): Key[] {
  let out: Key[] = [[]];
  stage.keys.forEach((get, i) => {
    let values: (string | number | boolean | null)[] = [...new Set(get(doc))];
    if (values.length === 0 && stage.keyFields[i].optional) values = [null];
    out = out.flatMap((k) => values.map((v) => [...k, v]));
  });
  return out;
}

const same = (a: Key, b: Key) => JSON.stringify(a) === JSON.stringify(b);

interface Seq {
  readonly key: Key;
  readonly hits: readonly number[];
}

export function referenceSequences(q: CompiledSequence, events: readonly EventRecord[]): RefResult[] {
  const positives = q.stages.filter((s) => !s.missing);
  const ts = (i: number) => events[i].timestamp;
  let groups: Seq[] = [];
  events.forEach((e, i) => {
    if (positives[0].matches(e.source)) for (const key of keysOf(positives[0], e.source)) groups.push({ key, hits: [i] });
  });
  let done: Seq[] = positives.length === 1 ? groups : [];
  for (let k = 1; k < positives.length; k++) {
    const next: Seq[] = [];
    events.forEach((e, i) => {
      if (!positives[k].matches(e.source)) return;
      for (const key of keysOf(positives[k], e.source)) {
        // The latest sequence of this key whose last event is before this one; it and every older one of the key are used up.
        const mine = groups.filter((s) => same(s.key, key) && s.hits[s.hits.length - 1] < i);
        if (mine.length === 0) continue;
        const s = mine[mine.length - 1];
        groups = groups.filter((g) => !mine.includes(g));
        if (q.maxspanMs !== null && ts(i) - ts(s.hits[0]) > q.maxspanMs) continue;
        const last = s.hits[s.hits.length - 1];
        const untilHit = q.until !== null && events.some((u, j) => j >= last && j < i && q.until!.matches(u.source) && keysOf(q.until!, u.source).some((uk) => same(uk, key)));
        if (untilHit) continue;
        next.push({ key, hits: [...s.hits, i] });
      }
    });
    if (k === positives.length - 1) done = next;
    else groups = next;
  }
  return done.filter((s) => !missingRejects(q, events, s)).map((s) => ({ ids: placeholders(q, events, s), keys: s.key }));
}

function placeholders(q: CompiledSequence, events: readonly EventRecord[], s: Seq): string[] {
  let n = 0;
  return q.stages.map((st) => (st.missing ? '-' : events[s.hits[n++]].id));
}

/** Elasticsearch's check of a complete sequence's missing stages (TumblingWindow). */
function missingRejects(q: CompiledSequence, events: readonly EventRecord[], s: Seq): boolean {
  const stages = q.stages;
  if (!stages.some((st) => st.missing)) return false;
  const maxspan = q.maxspanMs ?? 0;
  const hitTs = s.hits.map((h) => events[h].timestamp);
  const matching = (st: CompiledStage) => events.filter((e) => st.matches(e.source) && keysOf(st, e.source).some((k) => same(k, s.key))).map((e) => e.timestamp);
  let lastLeading: number | undefined;
  let firstTrailing: number | undefined;
  let positive = 0;
  for (const st of stages) {
    if (!st.missing) {
      positive++;
      continue;
    }
    const found = matching(st);
    if (positive === 0) {
      const before = found.filter((t) => t < hitTs[0]);
      if (before.length > 0) lastLeading = Math.max(lastLeading ?? -Infinity, ...before);
    } else if (positive === hitTs.length) {
      const afterLast = found.filter((t) => t > hitTs[hitTs.length - 1]);
      if (afterLast.length > 0) firstTrailing = Math.min(firstTrailing ?? Infinity, ...afterLast);
    } else if (found.some((t) => t > hitTs[positive - 1] && t < hitTs[positive])) {
      return true;
    }
  }
  const leading = stages[0].missing;
  const trailing = stages[stages.length - 1].missing;
  const fits = (from: number | undefined, to: number | undefined) => from !== undefined && to !== undefined && to - from <= maxspan;
  if (leading && trailing) return fits(lastLeading, firstTrailing);
  if (leading) return fits(lastLeading, hitTs[hitTs.length - 1]);
  if (trailing) return fits(hitTs[0], firstTrailing);
  return false;
}

/** Keys in order (null first, then by value), per key the first F+N-1 events of each filter, all picks in order, the first N. */
export function referenceSamples(q: CompiledSample, events: readonly EventRecord[], perKey: number): RefResult[] {
  const all: Key[] = [];
  for (const e of events) for (const f of q.stages) if (f.matches(e.source)) for (const k of keysOf(f, e.source)) if (!all.some((a) => same(a, k))) all.push(k);
  const rank = (v: unknown) => (v === null ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'number' ? 2 : 3);
  all.sort((a, b) => {
    for (let i = 0; i < a.length; i++) {
      if (rank(a[i]) !== rank(b[i])) return rank(a[i]) - rank(b[i]);
      if (a[i] !== b[i]) return (a[i] as never) < (b[i] as never) ? -1 : 1;
    }
    return 0;
  });
  const out: RefResult[] = [];
  for (const key of all) {
    const lists = q.stages.map((f) => events.filter((e) => f.matches(e.source) && keysOf(f, e.source).some((k) => same(k, key))).slice(0, q.stages.length + perKey - 1));
    let picks: EventRecord[][] = [[]];
    for (const l of lists) picks = picks.flatMap((p) => l.map((e) => [...p, e]));
    picks.filter((p) => new Set(p).size === p.length).slice(0, perKey).forEach((p) => out.push({ ids: p.map((e) => e.id), keys: key }));
  }
  return out;
}
