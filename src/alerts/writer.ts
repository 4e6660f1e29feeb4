/**
 * Writes alerts to Elasticsearch. Duplicates are found in one `mget` round trip (GET is
 * real-time, no refresh needed) and writes use `create`, so a concurrent writer of the same
 * alert gets a 409, counted as a duplicate, never a second copy. Items refused with 429 or 5xx
 * are retried with exponential backoff and jitter; an alert still not written after that is
 * reported by id with its reason (the execution records it as an AlertWriteError), never dropped
 * silently. An item refused with a 400 because a field copied from the events does not fit the
 * index (a mapping conflict the template could not foresee) is written again without that field,
 * which is kept as JSON text and named on the alert (fit.ts): an alert never becomes unwritable
 * because of its events. Requests are cut by size (LOOKOUT_BULK_BYTES).
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../config/mappings.js';
import { AlertWriteError, errorMessage, SearchError } from '../errors.js';
import { statusOf } from '../search/client.js';
import { ensureIndex } from '../search/indices.js';
import type { AlertDocument } from './build.js';
import { COPIED_ROOTS, takeCopiedField, withUnmapped } from './fit.js';
import { ElasticSuppressionStore, MemorySuppressionStore, type SuppressionStore } from './suppress.js';

export interface AlertSink {
  /** Ids among `ids` that were already written. */
  existing(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Writes alerts; returns the ids created, how many already existed, and each alert that could
   * not be written with the reason (a failure is reported, never thrown away or thrown).
   */
  write(alerts: readonly AlertDocument[]): Promise<WriteResult>;
  /** Finds and updates the open alert of a suppression group (alerts/suppress.ts); absent: alerts fold only within a batch. */
  readonly suppression?: SuppressionStore;
}

export interface WriteResult {
  readonly written: number;
  readonly duplicates: number;
  readonly created: readonly string[];
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
  /** Where the alerts go, for messages. */
  readonly target: string;
}

/** The alerts of `result` that failed, as the error an execution records (undefined if none). */
export function writeError(result: WriteResult, ids?: ReadonlySet<string>): AlertWriteError | undefined {
  const failed = ids ? result.failed.filter((f) => ids.has(f.id)) : result.failed;
  if (failed.length === 0) return undefined;
  return new AlertWriteError(
    `${failed.length} alert(s) not written to ${result.target}: ${failed.map((f) => `${f.id} (${f.reason})`).join(', ')}`,
    failed.map((f) => f.id),
  );
}

/** Default size of one bulk request of alerts (Elastic suggests a few megabytes). */
export const DEFAULT_BULK_BYTES = 5 * 1024 * 1024;

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
  readonly suppression: SuppressionStore;

  constructor(
    private readonly client: Client,
    private readonly index: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly refresh: boolean | 'wait_for' = false,
    private readonly bulkBytes: number = DEFAULT_BULK_BYTES,
  ) {
    this.suppression = new ElasticSuppressionStore(client, index);
  }

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

  /**
   * Bulk requests of at most `bulkBytes` (each document serialized once, to measure it and to
   * send it); a single alert larger than that goes alone.
   */
  async write(alerts: readonly AlertDocument[]): Promise<WriteResult> {
    let written = 0;
    let duplicates = 0;
    const created: string[] = [];
    const failed: { id: string; reason: string }[] = [];
    let chunk: Serialized[] = [];
    let bytes = 0;
    const send = async () => {
      if (chunk.length === 0) return;
      const r = await this.writeChunk(chunk);
      written += r.created.length;
      duplicates += r.duplicates;
      created.push(...r.created);
      failed.push(...r.failed);
      chunk = [];
      bytes = 0;
    };
    for (const a of alerts) {
      const action = JSON.stringify({ create: { _index: this.index, _id: a.id } });
      const doc = JSON.stringify(a.doc);
      const size = Buffer.byteLength(action) + Buffer.byteLength(doc) + 2;
      if (bytes + size > this.bulkBytes) await send();
      chunk.push({ id: a.id, action, doc, refits: 0 });
      bytes += size;
    }
    await send();
    return { written, duplicates, created, failed, target: this.index };
  }

  private async writeChunk(alerts: readonly Serialized[]): Promise<{ created: string[]; duplicates: number; failed: { id: string; reason: string }[] }> {
    let pending = alerts;
    const created: string[] = [];
    let duplicates = 0;
    const failed: { id: string; reason: string }[] = [];
    for (let attempt = 0; pending.length > 0;) {
      const retryable: Serialized[] = [];
      // Written again at once without a field that did not fit: not a retry of the same thing.
      const refitted: Serialized[] = [];
      let lastReason = '';
      try {
        // Strings go into the NDJSON body as they are.
        const res = await this.client.bulk({ refresh: this.refresh, operations: pending.flatMap((a) => [a.action, a.doc]) as never });
        res.items.forEach((item, i) => {
          const r = item.create;
          const status = r?.status ?? 0;
          const reason = `${status} ${r?.error?.type ?? ''}: ${r?.error?.reason ?? ''}`;
          if (status === 201 || status === 200) created.push(pending[i].id);
          else if (status === 409) duplicates++;
          else if (status === 429 || status >= 500) {
            retryable.push(pending[i]);
            lastReason = `${status} ${r?.error?.type ?? ''}`;
          } else {
            const again = status === 400 && MAPPING_ERRORS.has(r?.error?.type ?? '') ? refit(pending[i], r?.error?.reason ?? '') : undefined;
            if (again) refitted.push(again);
            else failed.push({ id: pending[i].id, reason });
          }
        });
      } catch (err) {
        retryable.push(...pending);
        lastReason = errorMessage(err);
      }
      if (retryable.length > 0) {
        attempt++;
        if (attempt >= this.retry.attempts) {
          for (const a of retryable) failed.push({ id: a.id, reason: `gave up after ${this.retry.attempts} attempts: ${lastReason}` });
          retryable.length = 0;
        } else await sleep(backoff(attempt - 1, this.retry));
      }
      pending = [...refitted, ...retryable];
    }
    return { created, duplicates, failed };
  }
}

/** Error types of a document the index cannot map (7.x, 8.x and 9.x names). */
const MAPPING_ERRORS: ReadonlySet<string> = new Set([
  'mapper_parsing_exception', 'document_parsing_exception', 'mapper_exception', 'illegal_argument_exception', 'strict_dynamic_mapping_exception',
]);

/** Fields moved aside per alert before giving up on naming them one by one. */
const MAX_REFITS = 8;

/**
 * The alert again without the copied field a 400 mapping error names (kept as JSON text, see
 * fit.ts; the field is only in the error's reason text, its type says what failed); when the
 * answer names no copied field, or after MAX_REFITS, without all the copied objects.
 * Undefined when there is nothing left to take out: the alert's own fields are refused, which
 * is reported, not hidden.
 */
function refit(a: Serialized, reason: string): Serialized | undefined {
  const doc = JSON.parse(a.doc) as Record<string, unknown>;
  const moved = new Map<string, unknown>();
  const named = a.refits < MAX_REFITS ? fieldNamed(reason) : undefined;
  const taken = named === undefined ? undefined : takeCopiedField(doc, named);
  if (named !== undefined && taken) moved.set(named, taken.value);
  else {
    for (const root of COPIED_ROOTS) {
      if (doc[root] === undefined) continue;
      moved.set(root, doc[root]);
      delete doc[root];
    }
  }
  if (moved.size === 0) return undefined;
  return { ...a, doc: JSON.stringify(withUnmapped(doc, moved)), refits: a.refits + 1 };
}

/** The field a mapping error names: `failed to parse field [process.name] of type ...`, ... */
function fieldNamed(reason: string): string | undefined {
  const m = /(?:failed to parse field|object mapping for|mapper|non object mapping|field) \[([^\]]+)\]/.exec(reason) ?? /\[([^\]]+)\]/.exec(reason);
  return m?.[1];
}

interface Serialized {
  readonly id: string;
  readonly action: string;
  readonly doc: string;
  /** Times a field was moved aside after a 400. */
  readonly refits: number;
}

/** Collects alerts in memory: `lookout test-rule` and tests use it. Nothing is a duplicate. */
export class MemoryAlertSink implements AlertSink {
  readonly alerts: AlertDocument[] = [];
  readonly suppression: SuppressionStore = new MemorySuppressionStore(this.alerts);

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
    return { written: created.length, duplicates: alerts.length - created.length, created, failed: [], target: 'memory' };
  }
}
