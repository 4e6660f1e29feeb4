/**
 * What the server-side aggregations (threshold, new_terms) share: the scope they search (indices,
 * the rule's query already in query DSL, the time field and window), the terms of a bucket and
 * their stable key, and one search call that counts searches and time, notes incomplete answers
 * (failed shards, timeouts) as the reader does, and turns client errors into SearchError. The
 * client's own retries (maxRetries) cover transient failures.
 */
import type { Client } from '@elastic/elasticsearch';
import { errorMessage, SearchError } from '../../errors.js';
import { statusOf } from '../client.js';
import type { EsQuery } from '../pushdown.js';
import { checkAnswer } from '../reader.js';

export interface AggregateScope {
  readonly indices: readonly string[];
  /** The rule's query with its filters, in query DSL; null: every event. */
  readonly query: EsQuery | null;
  /** An aggregatable date field (`@timestamp`, or the rule's timestamp override). */
  readonly timestampField: string;
  /** The execution's window, epoch milliseconds, both ends inclusive. */
  readonly from: number;
  readonly to: number;
}

export type TermValue = string | number | boolean;

/** One field's value in a bucket, as the composite aggregation keyed it. */
export interface Term {
  readonly field: string;
  readonly value: TermValue;
}

export interface AggregateStats {
  /** Search requests sent. */
  searches: number;
  /** Time the server reported spending on them (`took`, ms). */
  tookMs: number;
  /** Why the answers may lack events (failed shards, a timed-out search); empty when complete. */
  incomplete: string[];
}

export function newAggregateStats(): AggregateStats {
  return { searches: 0, tookMs: 0, incomplete: [] };
}

/**
 * A bucket's identity, the same whatever order its terms come in: the field-sorted terms as JSON
 * (values keep their type, so the number 1 and the string "1" differ). 0 fields: `[]`.
 */
export function termsKey(terms: readonly Term[]): string {
  return JSON.stringify([...terms].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0)).map((t) => [t.field, t.value]));
}

export function rangeOf(field: string, gte: number, lte: number): EsQuery {
  return { range: { [field]: { gte, lte, format: 'epoch_millis' } } };
}

/** The scope's query, with more filter clauses. */
export function filtered(query: EsQuery | null, ...filters: EsQuery[]): EsQuery {
  return { bool: { filter: query ? [...filters, query] : filters } };
}

/** Composite aggregation sources: one `terms` source per field, named by the field's position. */
export function compositeSources(fields: readonly string[]): EsQuery[] {
  return fields.map((field, i) => ({ [`f${i}`]: { terms: { field } } }));
}

/** The terms of a composite bucket key made by compositeSources. */
export function termsOfKey(fields: readonly string[], key: Record<string, unknown>): Term[] {
  return fields.map((field, i) => ({ field, value: key[`f${i}`] as TermValue }));
}

export interface SearchAnswer {
  readonly hits: { readonly total?: { value: number } | number };
  readonly aggregations?: Record<string, any>;
}

/** One size-0 search with aggregations over the scope's indices. */
export async function aggregateSearch(client: Client, indices: readonly string[], query: EsQuery, aggs: EsQuery, stats: AggregateStats, what: string): Promise<SearchAnswer> {
  stats.searches++;
  let res;
  try {
    res = await client.search({
      index: indices.join(','),
      size: 0,
      track_total_hits: true,
      ignore_unavailable: true,
      allow_no_indices: true,
      query: query as never,
      aggs: aggs as never,
    });
  } catch (err) {
    throw new SearchError(`${what} on ${indices.join(',')} failed: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
  }
  stats.tookMs += res.took ?? 0;
  checkAnswer(res as never, stats);
  return res as unknown as SearchAnswer;
}

/**
 * A composite page's after key, or undefined at the end: a page with fewer buckets than asked for
 * is the last (saving the request that would come back empty), as is one without an after key or
 * with the same one as before.
 */
export function nextAfter(agg: { after_key?: Record<string, unknown>; buckets?: unknown[] } | undefined, previous: Record<string, unknown> | undefined, size: number): Record<string, unknown> | undefined {
  const after = agg?.after_key;
  if (!after || (agg?.buckets?.length ?? 0) < size) return undefined;
  if (previous && JSON.stringify(after) === JSON.stringify(previous)) return undefined;
  return after;
}
