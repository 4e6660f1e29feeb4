/**
 * Runs one compiled EQL query over an ordered event stream. Events with the same timestamp are
 * held back and fed in a fixed order (tiebreaker, then index, then id) so that the same events
 * always give the same matches, whatever order the cluster returned them in: alert ids depend
 * on it. Memory held is one timestamp's events plus the sequence state.
 */
import type { CompiledEql } from '../eql/compile.js';
import { compileGetter, type Getter } from '../eql/fields.js';
import type { EventRecord, RuleMatch } from './events.js';
import { SequenceMatcher } from './sequence.js';

export interface EvaluatorOptions {
  /** Field that orders events with equal timestamps (the rule's tiebreaker_field). */
  readonly tiebreakerField?: string;
}

export class QueryEvaluator {
  private pending: EventRecord[] = [];
  private pendingTs = Number.NEGATIVE_INFINITY;
  private readonly matcher: SequenceMatcher | null;
  private readonly tiebreaker: Getter | null;
  /** Events fed to the query (after ordering). */
  eventsSeen = 0;

  constructor(
    private readonly query: CompiledEql,
    private readonly emit: (m: RuleMatch) => void,
    options: EvaluatorOptions = {},
  ) {
    this.matcher = query.kind === 'sequence' ? new SequenceMatcher(query) : null;
    this.tiebreaker = options.tiebreakerField ? compileGetter(options.tiebreakerField) : null;
  }

  get openPartials(): number {
    return this.matcher?.openPartials ?? 0;
  }

  /** Accepts events in ascending timestamp order; an older event than the last one is fed as it comes. */
  push(event: EventRecord): void {
    if (event.timestamp !== this.pendingTs) this.flush();
    this.pendingTs = event.timestamp;
    this.pending.push(event);
  }

  /** Feeds what is held back; call at the end of the stream. */
  flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    if (batch.length > 1) batch.sort((a, b) => this.compare(a, b));
    for (const e of batch) this.feed(e);
  }

  private compare(a: EventRecord, b: EventRecord): number {
    if (this.tiebreaker) {
      const ta = this.tiebreaker(a.source)[0];
      const tb = this.tiebreaker(b.source)[0];
      if (ta !== undefined && tb === undefined) return -1;
      if (ta === undefined && tb !== undefined) return 1;
      if (ta !== undefined && tb !== undefined && ta !== tb) return ta < tb ? -1 : 1;
    }
    if (a.index !== b.index) return a.index < b.index ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  private feed(e: EventRecord): void {
    this.eventsSeen++;
    if (this.matcher) {
      this.matcher.push(e, this.emit);
      return;
    }
    if (this.query.kind === 'event' && this.query.stage.matches(e.source)) this.emit({ events: [e], joinKeys: [] });
  }
}
