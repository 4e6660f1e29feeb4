/**
 * Writes alerts to Elasticsearch. Duplicates are found in one `mget` round trip (GET is
 * real-time, no refresh needed) and writes use `create`, so a concurrent writer of the same
 * alert gets a 409, counted as a duplicate, never a second copy. Items refused with 429 or 5xx
 * are retried with exponential backoff and jitter; an alert still not written after that is
 * reported by id in an AlertWriteError, never dropped silently.
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../config/mappings.js';
import { AlertWriteError, errorMessage, SearchError } from '../errors.js';
import { statusOf } from '../search/client.js';
import { ensureIndex } from '../search/indices.js';
import type { AlertDocument } from './build.js';

export interface AlertSink {
  /** Ids among `ids` that were already written. */
  existing(ids: readonly string[]): Promise<Set<string>>;
  /** Writes alerts; returns the ids created and how many already existed. */
  write(alerts: readonly AlertDocument[]): Promise<WriteResult>;
}

export interface WriteResult {
  readonly written: number;
  readonly duplicates: number;
  readonly created: readonly string[];
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200 };

export function backoff(attempt: number, policy: RetryPolicy): number {
  const exp = policy.baseDelayMs * 2 ** attempt;
  return exp / 2 + Math.random() * (exp / 2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function installAlertsTemplate(client: Client, index: string): Promise<void> {
  await ensureIndex(client, `lookout-alerts-${index}`, index, readMapping('alerts-template.json'), 'the alerts index');
}

export class ElasticAlertSink implements AlertSink {
  constructor(
    private readonly client: Client,
    private readonly index: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly refresh: boolean | 'wait_for' = false,
  ) {}

  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.client.mget({ index: this.index, ids: [...ids], _source: false });
        return new Set(res.docs.filter((d) => 'found' in d && d.found).map((d) => d._id));
      } catch (err) {
        if (attempt + 1 >= this.retry.attempts) {
          throw new SearchError(`cannot check existing alerts in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
        }
        await sleep(backoff(attempt, this.retry));
      }
    }
  }

  async write(alerts: readonly AlertDocument[]): Promise<WriteResult> {
    let pending = [...alerts];
    let written = 0;
    const created: string[] = [];
    let duplicates = 0;
    const failed: { id: string; reason: string }[] = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const retryable: AlertDocument[] = [];
      let lastReason = '';
      try {
        const res = await this.client.bulk({
          refresh: this.refresh,
          operations: pending.flatMap((a) => [{ create: { _index: this.index, _id: a.id } }, a.doc]),
        });
        res.items.forEach((item, i) => {
          const r = item.create;
          const status = r?.status ?? 0;
          if (status === 201 || status === 200) {
            written++;
            created.push(pending[i].id);
          }
          else if (status === 409) duplicates++;
          else if (status === 429 || status >= 500) {
            retryable.push(pending[i]);
            lastReason = `${status} ${r?.error?.type ?? ''}`;
          } else failed.push({ id: pending[i].id, reason: `${status} ${r?.error?.type ?? ''}: ${r?.error?.reason ?? ''}` });
        });
      } catch (err) {
        retryable.push(...pending);
        lastReason = errorMessage(err);
      }
      pending = retryable;
      if (pending.length === 0) break;
      if (attempt + 1 >= this.retry.attempts) {
        for (const a of pending) failed.push({ id: a.id, reason: `gave up after ${this.retry.attempts} attempts: ${lastReason}` });
        break;
      }
      await sleep(backoff(attempt, this.retry));
    }
    if (failed.length > 0) {
      throw new AlertWriteError(
        `${failed.length} alert(s) not written to ${this.index} (${written} written): ${failed.map((f) => `${f.id} (${f.reason})`).join(', ')}`,
        failed.map((f) => f.id),
      );
    }
    return { written, duplicates, created };
  }
}

/** Collects alerts in memory: `lookout test-rule` and tests use it. Nothing is a duplicate. */
export class MemoryAlertSink implements AlertSink {
  readonly alerts: AlertDocument[] = [];

  async existing(ids: readonly string[]): Promise<Set<string>> {
    const have = new Set(this.alerts.map((a) => a.id));
    return new Set(ids.filter((id) => have.has(id)));
  }

  async write(alerts: readonly AlertDocument[]): Promise<WriteResult> {
    const have = new Set(this.alerts.map((a) => a.id));
    const created: string[] = [];
    for (const a of alerts) {
      if (have.has(a.id)) continue;
      this.alerts.push(a);
      have.add(a.id);
      created.push(a.id);
    }
    return { written: created.length, duplicates: alerts.length - created.length, created };
  }
}
