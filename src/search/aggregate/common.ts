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
  /**
   * Events that lack `timestampField` are taken by this one (`@timestamp`), as Kibana's
   * timestamp override falls back, and as the reader does.
   */
  readonly fallbackTimestampField?: string;
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

export interface TimeBounds {
  readonly gte?: number;
  readonly gt?: number;
  readonly lte?: number;
}

/**
 * Events whose time is within the bounds: by the timestamp field, or, with a fallback, by the
 * fallback for events that lack the timestamp field.
 */
export function timeRange(scope: AggregateScope, bounds: TimeBounds): EsQuery {
  const range = (field: string) => ({ range: { [field]: { ...bounds, format: 'epoch_millis' } } });
  const fb = fallbackOf(scope);
  if (!fb) return range(scope.timestampField);
  return {
    bool: {
      should: [range(scope.timestampField), { bool: { filter: [range(fb)], must_not: [{ exists: { field: scope.timestampField } }] } }],
      minimum_should_match: 1,
    },
  };
}

function fallbackOf(scope: AggregateScope): string | undefined {
  const fb = scope.fallbackTimestampField;
  return fb && fb !== scope.timestampField ? fb : undefined;
}

/** Sub-aggregations for the earliest and latest event time of a bucket (timesOf reads them). */
export function timeAggs(scope: AggregateScope): EsQuery {
  const fb = fallbackOf(scope);
  return {
    t_min: { min: { field: scope.timestampField } },
    t_max: { max: { field: scope.timestampField } },
    ...(fb ? { t_fb: { filter: { bool: { must_not: [{ exists: { field: scope.timestampField } }] } }, aggs: { t_min: { min: { field: fb } }, t_max: { max: { field: fb } } } } } : {}),
  };
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The earliest and latest event time of a bucket with timeAggs (undefined: no event). */
export function timesOf(bucket: Record<string, any>): { first?: number; last?: number } {
  const firsts = [finite(bucket.t_min?.value), finite(bucket.t_fb?.t_min?.value)].filter((v): v is number => v !== undefined);
  const lasts = [finite(bucket.t_max?.value), finite(bucket.t_fb?.t_max?.value)].filter((v): v is number => v !== undefined);
  return { first: firsts.length ? Math.min(...firsts) : undefined, last: lasts.length ? Math.max(...lasts) : undefined };
}

/** A sub-aggregation for a bucket's earliest event, whole or with these `_source` fields (firstHitOf reads it). */
export function firstEventAggs(scope: AggregateScope, sourceIncludes?: readonly string[]): EsQuery {
  const top = (field: string) => ({
    top_hits: { size: 1, sort: [{ [field]: { order: 'asc', format: 'epoch_millis' } }], ...(sourceIncludes ? { _source: { includes: [...sourceIncludes] } } : {}) },
  });
  const fb = fallbackOf(scope);
  return {
    first_hit: top(scope.timestampField),
    ...(fb ? { first_fb: { filter: { bool: { must_not: [{ exists: { field: scope.timestampField } }] } }, aggs: { first_hit: top(fb) } } } : {}),
  };
}

export interface FirstHit {
  readonly index: string;
  readonly id: string;
  readonly time: number;
  readonly source: Record<string, unknown>;
}

export function firstHitOf(bucket: Record<string, any>): FirstHit | undefined {
  const hits = [bucket.first_hit?.hits?.hits?.[0], bucket.first_fb?.first_hit?.hits?.hits?.[0]]
    .filter((h) => h && finite(Number(h.sort?.[0])) !== undefined)
    .map((h): FirstHit => ({ index: h._index, id: h._id, time: Number(h.sort[0]), source: h._source ?? {} }));
  return hits.sort((a, b) => a.time - b.time)[0];
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
