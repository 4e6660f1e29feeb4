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
import { Suppressor, withSuppression } from '../alerts/suppress.js';
import { writeError, type AlertSink, type WriteResult } from '../alerts/writer.js';
import { AlertWriteError } from '../errors.js';
import type { Rule } from '../rules/model.js';
import type { EventRecord, RuleMatch } from './events.js';
import { QueryEvaluator } from './evaluator.js';
import type { Shared } from './share.js';
import type { IndexNames } from '../search/index-names.js';

export interface RunCounts {
  eventsRead: number;
  eventsSkipped: number;
  skippedReasons: Record<string, number>;
  matches: number;
  alertsWritten: number;
  duplicates: number;
  /** New alerts not written because of max_signals. */
  truncated: number;
  /** Alerts folded into another alert of their group (alert suppression, alerts/suppress.ts). */
  suppressed: number;
  /** Events whose index fits none of a Sigma rule's pipelines, per index: read, not evaluated. */
  unrouted: Record<string, number>;
  /** Partial state the matcher held at its largest (an ES|QL STATS's groups), when it holds any. */
  groups?: number;
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
  /** Evaluation work shared with other rules of the same read (engine/share.ts). */
  readonly shared?: Shared;
  /** Every name an event's index answers to (resolved once per read: search/index-names.ts). */
  readonly indexNames?: IndexNames;
  /** The end of the window read (MatcherOptions.windowEnd); default `now`. */
  readonly windowEnd?: number;
}

/**
 * One rule's side of an execution: events go in with `feed`, matches become alerts in a
 * buffer, `flushIfFull` writes a batch when it is full, `finish` ends the stream. Several runs
 * can share one read of Elasticsearch (see scheduler/execute.ts).
 */
export class RuleRun {
  readonly counts: RunCounts = { eventsRead: 0, eventsSkipped: 0, skippedReasons: {}, matches: 0, alertsWritten: 0, duplicates: 0, truncated: 0, suppressed: 0, unrouted: {} };
  private buffer: AlertDocument[] = [];
  /** Alerts selected for writing whose outcome is not known yet (they count against the cap). */
  private selected = 0;
  private readonly seenIds = new Set<string>();
  /** Null for an aggregated query: its matches come in through `addMatches`. */
  private readonly evaluator: QueryEvaluator | null;
  private readonly batchSize: number;
  /** Folds alerts of one group when the rule suppresses alerts. */
  private readonly suppressor: Suppressor | null;

  constructor(private readonly rule: Rule, private readonly sink: AlertSink, private readonly options: RunOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.suppressor = rule.alertSuppression ? new Suppressor(rule, rule.alertSuppression, sink.suppression) : null;
    this.evaluator = rule.compiled.plan !== 'streamed' ? null : new QueryEvaluator(rule.compiled, (m) => this.onMatch(m), {
      tiebreakerField: rule.tiebreakerField, emitFrom: options.emitFrom, maxSamplesPerKey: rule.maxSamplesPerKey,
      front: options.shared?.front, sharedStart: options.shared?.sharedStart, onError: (err) => this.skip(err),
      now: options.now.getTime(), indexNames: options.indexNames, windowEnd: options.windowEnd ?? options.now.getTime(), onUnrouted: (index) => (this.counts.unrouted[index] = (this.counts.unrouted[index] ?? 0) + 1),
    });
  }

  private onMatch(m: RuleMatch): void {
    this.counts.matches++;
    const alert = buildAlert(this.rule, m, { now: this.options.now, executionId: this.options.executionId });
    if (this.seenIds.has(alert.id)) {
      this.counts.duplicates++;
      return;
    }
    this.seenIds.add(alert.id);
    this.buffer.push(this.suppressor ? withSuppression(this.rule, alert, m) : alert);
  }

  /** Matches found without an event stream (an aggregated query): the same alert pipeline as streamed ones. */
  addMatches(matches: Iterable<RuleMatch>): void {
    for (const m of matches) this.onMatch(m);
  }

  feed(event: EventRecord): void {
    if (this.evaluator === null) throw new Error(`rule ${this.rule.ruleId} aggregates on the server; it takes matches, not events`);
    this.counts.eventsRead++;
    try {
      if (this.rule.filters.matches(event.source) && !this.rule.exceptions?.excepts(event.source, this.options.now.getTime())) this.evaluator.push(event);
    } catch (err) {
      this.skip(err);
    }
  }

  /** A predicate that throws on a strange document costs that document, not the run. */
  private skip(err: unknown): void {
    this.counts.eventsSkipped++;
    const reason = `evaluation error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200);
    this.counts.skippedReasons[reason] = (this.counts.skippedReasons[reason] ?? 0) + 1;
  }

  /** A batch of alerts is waiting: call `flush` (kept synchronous so the hot loop awaits only then). */
  get full(): boolean {
    return this.buffer.length >= this.batchSize;
  }

  async finish(): Promise<RunCounts> {
    this.end();
    await this.flush();
    return this.counts;
  }

  /** End of the stream: what the evaluator held back is matched (alerts wait for a flush). */
  end(): void {
    this.evaluator?.flush();
    if (this.rule.compiled.language === 'esql' && this.evaluator) this.counts.groups = this.evaluator.openPartials;
  }

  /** Writes what is waiting (this rule alone; several runs share round trips with `flushRuns`). */
  async flush(): Promise<void> {
    const [error] = await flushRuns([this], this.sink);
    if (error !== undefined) throw error;
  }

  /** The alerts waiting to be checked and written; the buffer starts again. */
  takeBatch(): AlertDocument[] {
    const batch = this.buffer;
    this.buffer = [];
    return batch;
  }

  /** Drops what already exists, applies the cap and enrichment: what this run will write. */
  async select(batch: readonly AlertDocument[], existing: ReadonlySet<string>): Promise<AlertDocument[]> {
    const { counts, options } = this;
    let fresh = batch.filter((a) => !existing.has(a.id));
    counts.duplicates += batch.length - fresh.length;
    const folded = this.suppressor ? await this.suppressor.fold(fresh) : undefined;
    if (folded) {
      fresh = folded.creates;
      counts.duplicates += folded.counted;
    }
    const room = Math.max(0, this.rule.maxSignals - counts.alertsWritten - this.selected);
    let toWrite = fresh.slice(0, room);
    counts.truncated += fresh.length - toWrite.length;
    if (folded) {
      this.suppressor!.settle(fresh.slice(room), new Set());
      // Folding into alerts already written is not a new alert: the cap does not apply.
      const failed = await this.suppressor!.update(folded.updates, options.now);
      counts.suppressed += folded.suppressed;
      if (failed.length > 0) {
        throw new AlertWriteError(`${failed.length} suppressed alert(s) not updated: ${failed.map((f) => `${f.id} (${f.reason})`).join(', ')}`, failed.map((f) => f.id));
      }
    }
    if (options.enrich && toWrite.length > 0) toWrite = await options.enrich(toWrite);
    this.selected += toWrite.length;
    return toWrite;
  }

  /** Counts what the sink did with this run's alerts; throws AlertWriteError for those it could not write. */
  async settle(toWrite: readonly AlertDocument[], result: WriteResult): Promise<void> {
    const { counts, options } = this;
    this.selected -= toWrite.length;
    const mine = new Set(toWrite.map((a) => a.id));
    const created = result.created.filter((id) => mine.has(id));
    const failed = writeError(result, mine);
    this.suppressor?.settle(toWrite, new Set(failed ? toWrite.map((a) => a.id).filter((id) => !failed.alertIds.includes(id)) : toWrite.map((a) => a.id)));
    counts.alertsWritten += created.length;
    counts.duplicates += toWrite.length - created.length - (failed?.alertIds.length ?? 0);
    if (options.onCreated && created.length > 0) {
      const ids = new Set(created);
      await options.onCreated(toWrite.filter((a) => ids.has(a.id)));
    }
    if (failed) throw failed;
  }
}

/**
 * Writes the waiting alerts of several runs with one existence check and one bulk write (split
 * by size), instead of two round trips per rule. Returns each run's error (undefined when its
 * alerts were all written or were duplicates).
 */
export async function flushRuns(runs: readonly RuleRun[], sink: AlertSink): Promise<unknown[]> {
  const errors: unknown[] = runs.map(() => undefined);
  const batches = runs.map((r) => r.takeBatch());
  if (batches.every((b) => b.length === 0)) return errors;
  let existing: Set<string>;
  try {
    existing = await sink.existing(batches.flat().map((a) => a.id));
  } catch (err) {
    return batches.map((b) => (b.length > 0 ? err : undefined));
  }
  const selected = await Promise.all(runs.map((r, i) => r.select(batches[i], existing).catch((err: unknown) => {
    errors[i] = err;
    return [] as AlertDocument[];
  })));
  const all = selected.flat();
  if (all.length === 0) return errors;
  let result: WriteResult;
  try {
    result = await sink.write(all);
  } catch (err) {
    return selected.map((s, i) => errors[i] ?? (s.length > 0 ? err : undefined));
  }
  await Promise.all(runs.map((r, i) => r.settle(selected[i], result).catch((err: unknown) => (errors[i] ??= err))));
  return errors;
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
