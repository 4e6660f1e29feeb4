/**
 * Runs one streamed query (rules/language.ts: its matcher) over an ordered event stream. Events with the same timestamp are
 * held back and fed in a fixed order (tiebreaker, then index, then id) so that the same events
 * always give the same matches, whatever order the cluster returned them in: alert ids depend
 * on it. Memory held is one timestamp's events plus the sequence state. Pipes apply to the
 * results: `head N` passes the first N, `tail N` holds the last N until the end of the stream.
 */
import { compileGetter, type Getter } from './fields.js';
import type { CompiledQuery, StreamMatcher } from '../rules/language.js';
import type { EventRecord, RuleMatch } from './events.js';
import type { IndexNames } from '../search/index-names.js';
import type { SharedStart } from './sequence.js';

export interface EvaluatorOptions {
  /** Field that orders events with equal timestamps (the rule's tiebreaker_field). */
  readonly tiebreakerField?: string;
  /** Correlations: alerts triggered before this time are not emitted (they belong to an earlier window). */
  readonly emitFrom?: number;
  /** Shared with other rules (engine/share.ts): the ordering of events, and the first stage's partials. */
  readonly front?: SharedFront;
  readonly sharedStart?: SharedStart;
  /** Samples per join key (Elasticsearch's `max_samples_per_key`). Default 1. */
  readonly maxSamplesPerKey?: number;
  /** Sigma: every name an event's index answers to (aliases, data stream); by default what the name says. */
  readonly indexNames?: IndexNames;
  /** Sigma: an event whose index fits none of the rule's pipelines (the caller counts and reports it). */
  readonly onUnrouted?: (index: string) => void;
  /** The end of the window read (MatcherOptions.windowEnd). */
  readonly windowEnd?: number;
  /** An event this query could not evaluate when a shared front fed it (the caller counts it). */
  readonly onError?: (err: unknown) => void;
  /** The execution's clock (epoch ms) for date math in the query. */
  readonly now?: number;
}

/**
 * Events with the same timestamp (millisecond) are held back and fed in a fixed order (nanoseconds
 * within it, tiebreaker, then index, then id in natural order), whatever order the cluster
 * returned them in.
 */
class EventOrder {
  private pending: EventRecord[] = [];
  private single: EventRecord | undefined;
  private pendingTs = Number.NEGATIVE_INFINITY;

  constructor(private readonly tiebreaker: Getter | null, private readonly feed: (e: EventRecord) => void) {}

  push(event: EventRecord): void {
    if (event.timestamp !== this.pendingTs) {
      this.flush();
      this.pendingTs = event.timestamp;
      this.single = event;
      return;
    }
    if (this.single) {
      this.pending.push(this.single);
      this.single = undefined;
    }
    this.pending.push(event);
  }

  flush(): void {
    // The usual case, distinct timestamps, holds one event in a field: no array, no sort.
    if (this.single) {
      const e = this.single;
      this.single = undefined;
      this.feed(e);
      return;
    }
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    batch.sort((a, b) => this.compare(a, b));
    for (const e of batch) this.feed(e);
  }

  private compare(a: EventRecord, b: EventRecord): number {
    const an = a.nanos ?? 0;
    const bn = b.nanos ?? 0;
    if (an !== bn) return an - bn;
    if (this.tiebreaker) {
      const ta = this.tiebreaker(a.source)[0];
      const tb = this.tiebreaker(b.source)[0];
      if (ta !== undefined && tb === undefined) return -1;
      if (ta === undefined && tb !== undefined) return 1;
      if (ta !== undefined && tb !== undefined && ta !== tb) return ta < tb ? -1 : 1;
    }
    if (a.index !== b.index) return a.index < b.index ? -1 : 1;
    return naturalCompare(a.id, b.id);
  }
}

/**
 * Ids in natural order: runs of digits compare as numbers, so `line-9` comes before `line-10` and
 * `9` before `10` (the order events were written in, for line numbers and serial ids, which is
 * what Elasticsearch's implicit tiebreaker, the document order, gives).
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ei = i;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      let ej = j;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      let si = i;
      while (si < ei - 1 && a.charCodeAt(si) === 48) si++;
      let sj = j;
      while (sj < ej - 1 && b.charCodeAt(sj) === 48) sj++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d !== 0) return d;
      }
      if (ei - i !== ej - j) return ei - i - (ej - j);
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return (a.length - i) - (b.length - j);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The ordering of events done once for rules that see the same events (engine/share.ts): each
 * ordered event goes to every member in turn, so all of them handle an event before any handles
 * the next (what SharedStart relies on). Each member passes every event on; the front takes
 * the first of the copies. A member that fails on an event is told, the others go on.
 */
export class SharedFront {
  private readonly members: { feed: (e: EventRecord) => void; fail: (err: unknown) => void }[] = [];
  private readonly order: EventOrder;
  private lastReceived: EventRecord | undefined;

  constructor(tiebreakerField?: string) {
    this.order = new EventOrder(tiebreakerField ? compileGetter(tiebreakerField) : null, (e) => {
      for (const m of this.members) {
        try {
          m.feed(e);
        } catch (err) {
          m.fail(err);
        }
      }
    });
  }

  join(feed: (e: EventRecord) => void, fail: (err: unknown) => void): void {
    this.members.push({ feed, fail });
  }

  push(event: EventRecord): void {
    if (event === this.lastReceived) return;
    this.lastReceived = event;
    this.order.push(event);
  }

  flush(): void {
    this.order.flush();
  }
}

export class QueryEvaluator {
  private readonly order: EventOrder | SharedFront;
  private readonly matcher: StreamMatcher;
  private readonly emit: (m: RuleMatch) => void;
  private readonly finishers: (() => void)[] = [];
  /** Events fed to the query (after ordering). */
  eventsSeen = 0;

  constructor(
    query: CompiledQuery,
    emit: (m: RuleMatch) => void,
    options: EvaluatorOptions = {},
  ) {
    if (query.plan !== 'streamed') throw new Error(`a ${query.language} ${query.kind} query aggregates on the server; it does not evaluate events`);
    this.matcher = query.matcher({
      emitFrom: options.emitFrom, maxSamplesPerKey: options.maxSamplesPerKey, sharedStart: options.sharedStart,
      indexNames: options.indexNames, onUnrouted: options.onUnrouted, now: options.now, windowEnd: options.windowEnd,
    });
    if (options.front) {
      options.front.join((e) => this.feed(e), options.onError ?? ((err) => {
        throw err;
      }));
      this.order = options.front;
    } else {
      this.order = new EventOrder(options.tiebreakerField ? compileGetter(options.tiebreakerField) : null, (e) => this.feed(e));
    }
    // Pipes wrap the output, last pipe outermost.
    let out = emit;
    for (const pipe of [...query.pipes].reverse()) {
      const downstream = out;
      if (pipe.name === 'head') {
        let n = 0;
        out = (m) => {
          if (n++ < pipe.count) downstream(m);
        };
      } else {
        const ring: RuleMatch[] = [];
        out = (m) => {
          ring.push(m);
          if (ring.length > pipe.count) ring.shift();
        };
        this.finishers.unshift(() => ring.splice(0).forEach(downstream));
      }
    }
    this.emit = out;
  }

  get openPartials(): number {
    return this.matcher.openPartials;
  }

  /** Accepts events in ascending timestamp order; an older event than the last one is fed as it comes. */
  push(event: EventRecord): void {
    this.order.push(event);
  }

  /** End of the stream: feeds what is held back and releases held results. */
  flush(): void {
    this.order.flush();
    this.matcher.finish?.(this.emit);
    for (const f of this.finishers) f();
  }

  private feed(e: EventRecord): void {
    this.eventsSeen++;
    this.matcher.push(e, this.emit);
  }
}
