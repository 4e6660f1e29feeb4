/**
 * Lookout's state in Elasticsearch (index LOOKOUT_STATE_INDEX): a record of every execution,
 * the last successful window per rule (so a restart continues where it stopped and a gap is
 * seen), backfill progress (so a backfill resumes), and a threshold rule's signal history (so a
 * bucket already alerted is not alerted again, across restarts and backfills). Per-rule documents are read with GET,
 * which is real-time, so no refresh is needed between executions.
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../config/mappings.js';
import { errorMessage, SearchError } from '../errors.js';
import { statusOf } from '../search/client.js';
import { ensureIndex } from '../search/indices.js';
import type { Logger } from '../logging/logger.js';

export type ExecutionStatus = 'succeeded' | 'partial' | 'failed';

export interface ExecutionRecord {
  readonly executionId: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly kind: 'scheduled' | 'once' | 'backfill';
  readonly status: ExecutionStatus;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly window: { readonly start: number; readonly end: number };
  readonly gap?: { readonly start: number; readonly end: number };
  readonly eventsRead: number;
  readonly eventsSkipped: number;
  readonly matches: number;
  readonly alertsWritten: number;
  readonly duplicatesSkipped: number;
  /** Alerts folded into an alert of their group (alert suppression), when any were. */
  readonly alertsSuppressed?: number;
  readonly truncated: boolean;
  readonly notWritten: number;
  /** Events read whose index fits none of a Sigma rule's pipelines, per index (not evaluated). */
  readonly eventsUnrouted?: Readonly<Record<string, number>>;
  /** Fields the rule uses that no target index has. */
  readonly missingFields?: readonly string[];
  readonly error?: string;
  /** Why the read may lack events (failed shards, a timeout): the execution is partial. */
  readonly shardFailures?: readonly string[];
  /**
   * Set on the record of a tick that could not start (the lease, the rule's state or the cluster
   * could not be read): why, as counted in /metrics. Its window is the one the tick would have read.
   */
  readonly notStarted?: string;
  /**
   * The data read may still be arriving: the next executions must reach back to here again
   * (kept in the rule's state as `reread_from`). Absent on an execution after the data settled,
   * which clears it.
   */
  readonly rereadFrom?: number;
  /** The longest ingest lag seen (`event.ingested` less the event's time), when events carry it. */
  readonly ingestLagMs?: number;
  /** ES|QL STATS: the most groups held in memory. */
  readonly groups?: number;
}

/** A gap an execution recorded, and how far it has been filled. */
export interface RecordedGap {
  readonly executionId: string;
  readonly ruleId: string;
  readonly start: number;
  readonly end: number;
  /** Filled (backfilled) up to here; undefined: not begun. */
  readonly filledUntil?: number;
}

export interface RuleState {
  readonly lastSuccessEnd?: number;
  /** Time the next executions must read again: data for it may still be arriving. */
  readonly rereadFrom?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function executionDoc(rec: ExecutionRecord): Record<string, unknown> {
  return {
    doc_type: 'execution',
    execution_id: rec.executionId,
    rule_id: rec.ruleId,
    rule_name: rec.ruleName,
    kind: rec.kind,
    status: rec.status,
    started_at: iso(rec.startedAt),
    finished_at: iso(rec.finishedAt),
    window: { start: iso(rec.window.start), end: iso(rec.window.end) },
    ...(rec.gap ? { gap: { start: iso(rec.gap.start), end: iso(rec.gap.end), ms: rec.gap.end - rec.gap.start } } : {}),
    events_read: rec.eventsRead,
    events_skipped: rec.eventsSkipped,
    matches: rec.matches,
    alerts_written: rec.alertsWritten,
    duplicates_skipped: rec.duplicatesSkipped,
    ...(rec.alertsSuppressed !== undefined ? { alerts_suppressed: rec.alertsSuppressed } : {}),
    truncated: rec.truncated,
    not_written: rec.notWritten,
    duration_ms: rec.finishedAt - rec.startedAt,
    events_unrouted: Object.values(rec.eventsUnrouted ?? {}).reduce((a, b) => a + b, 0),
    ...(rec.eventsUnrouted && Object.keys(rec.eventsUnrouted).length > 0
      ? { unrouted_indices: Object.entries(rec.eventsUnrouted).map(([index, events]) => ({ index, events })) } : {}),
    ...(rec.missingFields && rec.missingFields.length > 0 ? { missing_fields: [...rec.missingFields] } : {}),
    ...(rec.error ? { error: rec.error } : {}),
    ...(rec.shardFailures?.length ? { shard_failures: rec.shardFailures } : {}),
    ...(rec.notStarted ? { not_started: rec.notStarted } : {}),
    ...(rec.rereadFrom !== undefined ? { reread_from: iso(rec.rereadFrom) } : {}),
    ...(rec.ingestLagMs !== undefined ? { ingest_lag_ms: rec.ingestLagMs } : {}),
  };
}

export interface StateStoreOptions {
  /** Execution records kept while the cluster cannot take them (default 1,000). */
  readonly maxWaiting?: number;
  /** Told when records waiting for the cluster are dropped. */
  readonly logger?: Logger;
}

/** Records dropped from the queue since the last marker was written. */
interface Dropped {
  count: number;
  from: number;
  to: number;
  readonly ruleIds: Set<string>;
}

export class StateStore {
  /** Records that could not be written (the cluster was down): written with the next record. */
  private readonly pending: ExecutionRecord[] = [];
  private readonly maxWaiting: number;
  private droppedTotal = 0;
  private unmarked: Dropped | undefined;

  constructor(private readonly client: Client, readonly index: string, private readonly options: StateStoreOptions = {}) {
    this.maxWaiting = options.maxWaiting ?? 1000;
  }

  /** Execution records waiting for the cluster. */
  get unrecorded(): number {
    return this.pending.length;
  }

  /** Execution records dropped (the queue waiting for the cluster was full) since start. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Keeps a record to be written with the next one (the cluster is known to be down). */
  defer(rec: ExecutionRecord): void {
    const queue = [...this.pending.splice(0), rec];
    this.keep(queue);
  }

  /** Puts back a marker that could not be written, with any dropped since. */
  private remark(marker: Dropped): void {
    const now = this.unmarked;
    if (!now) {
      this.unmarked = marker;
      return;
    }
    now.count += marker.count;
    now.from = Math.min(now.from, marker.from);
    now.to = Math.max(now.to, marker.to);
    for (const id of marker.ruleIds) now.ruleIds.add(id);
  }

  /** Keeps records for later, the newest `maxWaiting`; what is dropped is logged and remembered. */
  private keep(queue: readonly ExecutionRecord[]): void {
    const over = queue.length - this.maxWaiting;
    this.pending.push(...queue.slice(Math.max(0, over)));
    if (over <= 0) return;
    const lost = queue.slice(0, over);
    this.droppedTotal += over;
    const d = this.unmarked ?? { count: 0, from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY, ruleIds: new Set<string>() };
    d.count += over;
    for (const r of lost) {
      d.from = Math.min(d.from, r.startedAt);
      d.to = Math.max(d.to, r.finishedAt);
      d.ruleIds.add(r.ruleId);
    }
    this.unmarked = d;
    this.options.logger?.error(`${over} execution record(s) dropped: ${this.maxWaiting} already wait for the cluster; a marker (doc_type records_dropped) is written to ${this.index} once it is back`, {
      dropped_total: this.droppedTotal, from: iso(d.from), to: iso(d.to),
    });
  }

  async install(): Promise<void> {
    await ensureIndex(this.client, `lookout-state-${this.index}`, this.index, readMapping('state-template.json'), 'the state index');
  }

  private async getSource(id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.client.get<Record<string, unknown>>({ index: this.index, id });
      return res.found ? res._source : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new SearchError(`cannot read ${id} from ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  }

  async ruleState(ruleId: string): Promise<RuleState> {
    const src = await this.getSource(`rule:${ruleId}`);
    const end = src?.last_success_end;
    const reread = src?.reread_from;
    return {
      lastSuccessEnd: typeof end === 'string' ? Date.parse(end) : undefined,
      ...(typeof reread === 'string' ? { rereadFrom: Date.parse(reread) } : {}),
    };
  }

  /**
   * Records an execution. When the cluster cannot take it (it is down: often the very reason the
   * execution failed), the record is kept and written before the next one, so a failed
   * execution is recorded once the cluster is back. At most 1,000 are kept (`maxWaiting`);
   * older ones are dropped with an error in the log, counted (`dropped`), and a marker document
   * (doc_type records_dropped: how many, when, which rules) is written once the cluster is back.
   */
  async record(rec: ExecutionRecord): Promise<void> {
    await this.recordAll([rec]);
  }

  /**
   * Records several executions in two round trips (rules that shared a read finish together):
   * one mget for the rules' last successful windows, one bulk for the records and the windows
   * that moved forward.
   */
  async recordAll(recs: readonly ExecutionRecord[]): Promise<void> {
    const queue = [...this.pending.splice(0), ...recs];
    if (queue.length === 0) return;
    let marker: Dropped | undefined;
    try {
      const advancing = queue.filter((r) => r.status === 'succeeded' && r.kind !== 'backfill');
      const last = new Map<string, number>();
      if (advancing.length > 0) {
        const ids = [...new Set(advancing.map((r) => `rule:${r.ruleId}`))];
        const res = await this.client.mget<{ last_success_end?: string }>({ index: this.index, ids });
        for (const d of res.docs) {
          const end = 'found' in d && d.found ? d._source?.last_success_end : undefined;
          if (end) last.set(d._id.slice('rule:'.length), Date.parse(end));
        }
      }
      const operations: unknown[] = [];
      // Taken out while written (another write may fail meanwhile and start a new marker).
      marker = this.unmarked;
      this.unmarked = undefined;
      if (marker) {
        operations.push({ index: { _index: this.index } }, {
          doc_type: 'records_dropped', count: marker.count, started_at: iso(marker.from), finished_at: iso(marker.to),
          rule_ids: [...marker.ruleIds].sort(),
        });
      }
      for (const rec of queue) {
        operations.push({ index: { _index: this.index, _id: `execution:${rec.executionId}` } }, executionDoc(rec));
      }
      for (const rec of advancing) {
        const current = last.get(rec.ruleId);
        // An older window never moves the state back; one that asks for a re-read is kept.
        if (current !== undefined && current >= rec.window.end && rec.rereadFrom === undefined) continue;
        const end = Math.max(current ?? Number.NEGATIVE_INFINITY, rec.window.end);
        last.set(rec.ruleId, end);
        operations.push({ index: { _index: this.index, _id: `rule:${rec.ruleId}` } },
          {
            doc_type: 'rule_state', rule_id: rec.ruleId, rule_name: rec.ruleName, last_success_end: iso(end), execution_id: rec.executionId,
            ...(rec.rereadFrom !== undefined ? { reread_from: iso(rec.rereadFrom) } : {}),
          });
      }
      const res = await this.client.bulk({ operations });
      if (res.errors) {
        const bad = res.items.map((i) => Object.values(i)[0]).find((i) => i?.error);
        throw new Error(`${bad?.status} ${bad?.error?.type}: ${bad?.error?.reason}`);
      }
    } catch (err) {
      if (marker) this.remark(marker);
      this.keep(queue);
      throw new SearchError(`cannot record ${queue.length} execution(s) in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  }

  /** Executions of a rule, newest first. */
  async executions(ruleId: string, size = 20): Promise<Record<string, unknown>[]> {
    const res = await this.client.search<Record<string, unknown>>({
      index: this.index,
      size,
      query: { bool: { filter: [{ term: { doc_type: 'execution' } }, { term: { rule_id: ruleId } }] } },
      sort: [{ started_at: { order: 'desc' } }],
    });
    return res.hits.hits.map((h) => h._source as Record<string, unknown>);
  }

  /**
   * Takes or renews the lease on a rule for `owner`, with optimistic concurrency: the write
   * carries the sequence number and primary term it read, so of two runners racing for a free or
   * expired lease exactly one succeeds. Returns whether `owner` holds the lease now, and who does.
   */
  async acquireLease(ruleId: string, owner: string, ttlMs: number, now: number): Promise<{ held: boolean; holder?: string; expires?: number }> {
    const id = `lease:${ruleId}`;
    const doc = { doc_type: 'lease', rule_id: ruleId, owner, acquired_at: new Date(now).toISOString(), expires_at: new Date(now + ttlMs).toISOString() };
    let current;
    try {
      current = await this.client.get<{ owner: string; expires_at: string }>({ index: this.index, id });
    } catch (err) {
      if (statusOf(err) !== 404) throw new SearchError(`cannot read the lease of ${ruleId}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
    try {
      if (!current || !current.found) {
        await this.client.index({ index: this.index, id, document: doc, op_type: 'create' });
        return { held: true, holder: owner, expires: now + ttlMs };
      }
      const src = current._source!;
      const expires = Date.parse(src.expires_at);
      if (src.owner !== owner && expires > now) return { held: false, holder: src.owner, expires };
      await this.client.index({ index: this.index, id, document: doc, if_seq_no: current._seq_no, if_primary_term: current._primary_term });
      return { held: true, holder: owner, expires: now + ttlMs };
    } catch (err) {
      if (statusOf(err) === 409) {
        const again = await this.client.get<{ owner: string; expires_at: string }>({ index: this.index, id }).catch(() => undefined);
        return { held: false, holder: again?._source?.owner, expires: again?._source ? Date.parse(again._source.expires_at) : undefined };
      }
      throw new SearchError(`cannot take the lease of ${ruleId}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  }

  /** Gives a lease up (on a clean stop), if `owner` still holds it. */
  async releaseLease(ruleId: string, owner: string): Promise<void> {
    const id = `lease:${ruleId}`;
    const current = await this.client.get<{ owner: string }>({ index: this.index, id }).catch(() => undefined);
    if (!current?.found || current._source?.owner !== owner) return;
    await this.client.delete({ index: this.index, id, if_seq_no: current._seq_no, if_primary_term: current._primary_term }).catch(() => undefined);
  }

  /** All leases, for `lookout status`. */
  async leases(): Promise<Map<string, { owner: string; expires: number }>> {
    const res = await this.client.search<{ rule_id: string; owner: string; expires_at: string }>({
      index: this.index, size: 1000, query: { term: { doc_type: 'lease' } },
    });
    return new Map(res.hits.hits.map((h) => [h._source!.rule_id, { owner: h._source!.owner, expires: Date.parse(h._source!.expires_at) }]));
  }

  /** Recorded gaps not filled yet, oldest first (for these rules, or all). */
  async unfilledGaps(ruleIds?: readonly string[], size = 1000): Promise<RecordedGap[]> {
    const filter: unknown[] = [{ term: { doc_type: 'execution' } }, { exists: { field: 'gap.start' } }];
    if (ruleIds) filter.push({ terms: { rule_id: [...ruleIds] } });
    try {
      const res = await this.client.search<{ execution_id: string; rule_id: string; gap: { start: string; end: string; filled_until?: string } }>({
        index: this.index, size, query: { bool: { filter, must_not: [{ term: { 'gap.filled': true } }] } } as never,
        sort: [{ 'gap.start': 'asc' }] as never, ignore_unavailable: true,
      });
      // Also checked here: an index whose mapping predates gap.filled cannot filter on it.
      return res.hits.hits.filter((h) => (h._source?.gap as { filled?: boolean } | undefined)?.filled !== true).map((h) => {
        const src = h._source!;
        return {
          executionId: src.execution_id, ruleId: src.rule_id, start: Date.parse(src.gap.start), end: Date.parse(src.gap.end),
          ...(src.gap.filled_until ? { filledUntil: Date.parse(src.gap.filled_until) } : {}),
        };
      });
    } catch (err) {
      throw new SearchError(`cannot read the recorded gaps in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  }

  /** Notes how far a recorded gap is filled; `filled` once the whole gap is. */
  async markGap(executionId: string, filledUntil: number, filled: boolean): Promise<void> {
    await this.client.update({
      index: this.index, id: `execution:${executionId}`, refresh: 'wait_for',
      doc: { gap: { filled_until: iso(filledUntil), filled, ...(filled ? { filled_at: iso(Date.now()) } : {}) } },
    });
  }

  async backfillProgress(key: string): Promise<number | undefined> {
    const src = await this.getSource(`backfill:${key}`);
    const v = src?.completed_until;
    return typeof v === 'string' ? Date.parse(v) : undefined;
  }

  async saveBackfillProgress(key: string, ruleId: string, from: number, to: number, completedUntil: number): Promise<void> {
    await this.client.index({
      index: this.index,
      id: `backfill:${key}`,
      document: { doc_type: 'backfill', rule_id: ruleId, range: { from: iso(from), to: iso(to) }, completed_until: iso(completedUntil) },
    });
  }

  /**
   * A threshold rule's signal history: per bucket (search/aggregate termsKey), the time of the
   * last event an alert counted. Empty when the rule has none yet.
   */
  async thresholdHistory(ruleId: string): Promise<Map<string, number>> {
    return historyOf(await this.getSource(`threshold:${ruleId}`));
  }

  /**
   * Merges these entries into a threshold rule's stored history (the later time wins per bucket)
   * and drops entries at or before `dropUntil` (they can exclude no event of a window that starts
   * after it). The write carries the sequence number it read, and is redone on a conflict (a
   * backfill and the scheduled executions of one rule may save at once). Returns what is stored.
   */
  async saveThresholdHistory(ruleId: string, entries: ReadonlyMap<string, number>, dropUntil = Number.NEGATIVE_INFINITY): Promise<Map<string, number>> {
    const id = `threshold:${ruleId}`;
    for (let attempt = 0; ; attempt++) {
      let current;
      try {
        current = await this.client.get<Record<string, unknown>>({ index: this.index, id });
      } catch (err) {
        if (statusOf(err) !== 404) throw new SearchError(`cannot read ${id} from ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
      }
      const merged = current?.found ? historyOf(current._source) : new Map<string, number>();
      for (const [key, last] of entries) merged.set(key, Math.max(last, merged.get(key) ?? Number.NEGATIVE_INFINITY));
      for (const [key, last] of merged) if (last <= dropUntil) merged.delete(key);
      const document = {
        doc_type: 'threshold_history', rule_id: ruleId, updated_at: iso(Date.now()),
        buckets: [...merged].map(([key, last]) => ({ key, last_event: iso(last) })),
      };
      try {
        await this.client.index({
          index: this.index, id, document,
          ...(current?.found ? { if_seq_no: current._seq_no, if_primary_term: current._primary_term } : { op_type: 'create' as const }),
        });
        return merged;
      } catch (err) {
        if (statusOf(err) === 409 && attempt < 5) continue;
        throw new SearchError(`cannot save the threshold history of ${ruleId} in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
      }
    }
  }
}

function historyOf(src: Record<string, unknown> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const buckets = src?.buckets;
  if (!Array.isArray(buckets)) return out;
  for (const b of buckets as { key?: unknown; last_event?: unknown }[]) {
    const last = typeof b.last_event === 'string' ? Date.parse(b.last_event) : Number.NaN;
    if (typeof b.key === 'string' && Number.isFinite(last)) out.set(b.key, last);
  }
  return out;
}
