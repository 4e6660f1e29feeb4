/**
 * Lookout's state in Elasticsearch (index LOOKOUT_STATE_INDEX): a record of every execution,
 * the last successful window per rule (so a restart continues where it stopped and a gap is
 * seen), and backfill progress (so a backfill resumes). Per-rule documents are read with GET,
 * which is real-time, so no refresh is needed between executions.
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../config/mappings.js';
import { errorMessage, SearchError } from '../errors.js';
import { statusOf } from '../search/client.js';
import { ensureIndex } from '../search/indices.js';

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
  readonly truncated: boolean;
  readonly notWritten: number;
  /** Events read whose index fits none of a Sigma rule's pipelines, per index (not evaluated). */
  readonly eventsUnrouted?: Readonly<Record<string, number>>;
  /** Fields the rule uses that no target index has. */
  readonly missingFields?: readonly string[];
  readonly error?: string;
}

export interface RuleState {
  readonly lastSuccessEnd?: number;
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
    truncated: rec.truncated,
    not_written: rec.notWritten,
    duration_ms: rec.finishedAt - rec.startedAt,
    events_unrouted: Object.values(rec.eventsUnrouted ?? {}).reduce((a, b) => a + b, 0),
    ...(rec.eventsUnrouted && Object.keys(rec.eventsUnrouted).length > 0
      ? { unrouted_indices: Object.entries(rec.eventsUnrouted).map(([index, events]) => ({ index, events })) } : {}),
    ...(rec.missingFields && rec.missingFields.length > 0 ? { missing_fields: [...rec.missingFields] } : {}),
    ...(rec.error ? { error: rec.error } : {}),
  };
}

export class StateStore {
  /** Records that could not be written (the cluster was down): written with the next record. */
  private readonly pending: ExecutionRecord[] = [];

  constructor(private readonly client: Client, readonly index: string) {}

  /** Execution records waiting for the cluster. */
  get unrecorded(): number {
    return this.pending.length;
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
    return { lastSuccessEnd: typeof end === 'string' ? Date.parse(end) : undefined };
  }

  /**
   * Records an execution. When the cluster cannot take it (it is down: often the very reason the
   * execution failed), the record is kept and written before the next one, so a failed
   * execution is recorded once the cluster is back. At most 1,000 are kept.
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
      for (const rec of queue) {
        operations.push({ index: { _index: this.index, _id: `execution:${rec.executionId}` } }, executionDoc(rec));
      }
      for (const rec of advancing) {
        const current = last.get(rec.ruleId);
        if (current !== undefined && current >= rec.window.end) continue;
        last.set(rec.ruleId, rec.window.end);
        operations.push({ index: { _index: this.index, _id: `rule:${rec.ruleId}` } },
          { doc_type: 'rule_state', rule_id: rec.ruleId, rule_name: rec.ruleName, last_success_end: iso(rec.window.end), execution_id: rec.executionId });
      }
      const res = await this.client.bulk({ operations });
      if (res.errors) {
        const bad = res.items.map((i) => Object.values(i)[0]).find((i) => i?.error);
        throw new Error(`${bad?.status} ${bad?.error?.type}: ${bad?.error?.reason}`);
      }
    } catch (err) {
      this.pending.push(...queue.slice(-1000));
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
}
