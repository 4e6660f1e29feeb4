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
  readonly error?: string;
}

export interface RuleState {
  readonly lastSuccessEnd?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class StateStore {
  constructor(private readonly client: Client, readonly index: string) {}

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

  async record(rec: ExecutionRecord): Promise<void> {
    const doc = {
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
      ...(rec.error ? { error: rec.error } : {}),
    };
    try {
      await this.client.index({ index: this.index, id: `execution:${rec.executionId}`, document: doc });
      if (rec.status === 'succeeded' && rec.kind !== 'backfill') {
        const current = await this.ruleState(rec.ruleId);
        if (current.lastSuccessEnd === undefined || current.lastSuccessEnd < rec.window.end) {
          await this.client.index({
            index: this.index,
            id: `rule:${rec.ruleId}`,
            document: { doc_type: 'rule_state', rule_id: rec.ruleId, rule_name: rec.ruleName, last_success_end: iso(rec.window.end), execution_id: rec.executionId },
          });
        }
      }
    } catch (err) {
      throw new SearchError(`cannot record execution ${rec.executionId} in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
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
