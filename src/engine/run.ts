/**
 * One execution of one rule over a stream of events: evaluate, build alerts, drop those already
 * written, write at most `max_signals` new ones, and count everything. The same code serves the
 * scheduler (events from Elasticsearch, alerts to Elasticsearch) and `lookout test-rule`
 * (events from a file, alerts to stdout), so both give the same alerts for the same events.
 *
 * The cap counts NEW alerts: a match already alerted by an earlier, overlapping execution does
 * not use up the budget (Kibana's engine caps before deduplicating, so old matches can hide new
 * ones). Matches beyond the cap are still checked against the alerts index, so `truncated` is
 * the exact number of new alerts this execution did not write; the next overlapping execution
 * picks them up.
 */
import { buildAlert, type AlertDocument } from '../alerts/build.js';
import type { AlertSink } from '../alerts/writer.js';
import type { Rule } from '../rules/model.js';
import type { EventRecord, RuleMatch } from './events.js';
import { QueryEvaluator } from './evaluator.js';

export interface RunCounts {
  eventsRead: number;
  eventsSkipped: number;
  skippedReasons: Record<string, number>;
  matches: number;
  alertsWritten: number;
  duplicates: number;
  /** New alerts not written because of max_signals. */
  truncated: number;
}

export interface RunOptions {
  readonly now: Date;
  readonly executionId?: string;
  /** Matches checked against the sink per round trip. */
  readonly batchSize?: number;
  /** Correlations: alerts triggered before this time belong to an earlier execution. */
  readonly emitFrom?: number;
  /** Applied to new alerts just before they are written (see alerts/enrich.ts). */
  readonly enrich?: (alerts: readonly AlertDocument[]) => Promise<AlertDocument[]>;
  /** Told about the alerts this execution created (notifications); must not throw. */
  readonly onCreated?: (alerts: readonly AlertDocument[]) => Promise<void>;
}

/**
 * One rule's side of an execution: events go in with `feed`, matches become alerts in a
 * buffer, `flushIfFull` writes a batch when it is full, `finish` ends the stream. Several runs
 * can share one read of Elasticsearch (see scheduler/execute-shared.ts).
 */
export class RuleRun {
  readonly counts: RunCounts = { eventsRead: 0, eventsSkipped: 0, skippedReasons: {}, matches: 0, alertsWritten: 0, duplicates: 0, truncated: 0 };
  private buffer: AlertDocument[] = [];
  private readonly seenIds = new Set<string>();
  private readonly evaluator: QueryEvaluator;
  private readonly batchSize: number;

  constructor(private readonly rule: Rule, private readonly sink: AlertSink, private readonly options: RunOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.evaluator = new QueryEvaluator(rule.compiled, (m) => this.onMatch(m), { tiebreakerField: rule.tiebreakerField, emitFrom: options.emitFrom });
  }

  private onMatch(m: RuleMatch): void {
    this.counts.matches++;
    const alert = buildAlert(this.rule, m, { now: this.options.now, executionId: this.options.executionId });
    if (this.seenIds.has(alert.id)) {
      this.counts.duplicates++;
      return;
    }
    this.seenIds.add(alert.id);
    this.buffer.push(alert);
  }

  feed(event: EventRecord): void {
    this.counts.eventsRead++;
    try {
      if (this.rule.filters.matches(event.source)) this.evaluator.push(event);
    } catch (err) {
      // A predicate that throws on a strange document costs that document, not the run.
      this.counts.eventsSkipped++;
      const reason = `evaluation error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200);
      this.counts.skippedReasons[reason] = (this.counts.skippedReasons[reason] ?? 0) + 1;
    }
  }

  /** A batch of alerts is waiting: call `flush` (kept synchronous so the hot loop awaits only then). */
  get full(): boolean {
    return this.buffer.length >= this.batchSize;
  }

  async finish(): Promise<RunCounts> {
    this.evaluator.flush();
    await this.flush();
    return this.counts;
  }

  async flush(): Promise<void> {
    const { counts, options } = this;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    const existing = await this.sink.existing(batch.map((a) => a.id));
    const fresh = batch.filter((a) => !existing.has(a.id));
    counts.duplicates += batch.length - fresh.length;
    const room = Math.max(0, this.rule.maxSignals - counts.alertsWritten);
    let toWrite = fresh.slice(0, room);
    counts.truncated += fresh.length - toWrite.length;
    if (options.enrich && toWrite.length > 0) toWrite = await options.enrich(toWrite);
    if (toWrite.length > 0) {
      const r = await this.sink.write(toWrite);
      counts.alertsWritten += r.written;
      counts.duplicates += r.duplicates;
      if (options.onCreated && r.created.length > 0) {
        const created = new Set(r.created);
        await options.onCreated(toWrite.filter((a) => created.has(a.id)));
      }
    }
  }
}

/**
 * `events`: an array (offline), or pages of events in order (from Elasticsearch). Pages rather
 * than single events, so the cost of an await is paid per page, not per event.
 */
export async function runRule(rule: Rule, events: AsyncIterable<readonly EventRecord[]> | readonly EventRecord[], sink: AlertSink, options: RunOptions): Promise<RunCounts> {
  const run = new RuleRun(rule, sink, options);
  if (Array.isArray(events)) {
    for (const event of events as readonly EventRecord[]) {
      run.feed(event);
      if (run.full) await run.flush();
    }
  } else {
    for await (const page of events as AsyncIterable<readonly EventRecord[]>) {
      for (const event of page) run.feed(event);
      if (run.full) await run.flush();
    }
  }
  return run.finish();
}
