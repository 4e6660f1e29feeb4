/**
 * Threshold matches on the server, as Kibana's threshold rule finds them: a composite aggregation
 * over the rule's 0-3 fields in the window (paged by `after_key`, so any number of buckets), with
 * the earliest and latest event time per bucket and, when the rule has one, the cardinality of a
 * field; the buckets whose count (and cardinality) reach the rule's values match. Kibana drops the
 * others on the server with `bucket_selector`, a Painless script; here they are dropped on
 * arrival (a bucket is a few numbers), so no script is needed: clusters that disable scripting,
 * or lack Painless, run threshold rules too. With no field, the whole window is one bucket.
 *
 * The signal history (Kibana's threshold signal history): per bucket, the time of the last event an
 * alert already counted. Events of that bucket at or before it are not counted again, so an
 * overlapping execution does not alert on the same events twice. Kibana adds one must_not clause
 * per remembered bucket to the search; here the search runs without them and only the buckets
 * that both pass and have a history entry reaching into the window are counted again, by a
 * `filters` aggregation of (bucket's terms, time after its last alerted event), in chunks: the
 * same answer (exclusion can only lower a count), with no limit on the history's size from the
 * cluster's clause count. Entries ending before the window cannot exclude anything and are ignored.
 */
import type { Client } from '@elastic/elasticsearch';
import type { EsQuery } from '../pushdown.js';
import {
  aggregateSearch, compositeSources, filtered, nextAfter, termsKey, termsOfKey, timeAggs, timeRange, timesOf,
  type AggregateScope, type AggregateStats, type Term,
} from './common.js';
import { validateThreshold, type ThresholdSpec } from './spec.js';

export { AggregateSpecError, validateThreshold, type ThresholdSpec } from './spec.js';

export interface ThresholdMatch {
  readonly terms: readonly Term[];
  /** termsKey(terms): the bucket's key in the signal history. */
  readonly key: string;
  readonly count: number;
  readonly cardinality?: readonly { readonly field: string; readonly value: number }[];
  /** The earliest counted event's time (`threshold_result.from`), epoch ms. */
  readonly from: number;
  /** The latest counted event's time (the alert's original time, and the history entry). */
  readonly lastEvent: number;
  /**
   * The alert id's entity: the bucket's terms and its earliest counted event. An execution that
   * counts the same events (a retry, a read-back without history) gives the same id and the
   * alert is deduplicated; a later burst of the same terms gives a new alert.
   */
  readonly entity: string;
}

/** termsKey -> time of the last event an alert counted (epoch ms). */
export type ThresholdHistory = ReadonlyMap<string, number>;

export interface ThresholdOptions {
  readonly history?: ThresholdHistory;
  /** Buckets per composite page. Default 10,000 (Kibana's). */
  readonly pageSize?: number;
  /** Stop after this many matches (the rule's max_signals); default unlimited. */
  readonly maxMatches?: number;
  /** Bucket re-counts per `filters` search. Default 500. */
  readonly recountChunk?: number;
}

export interface ThresholdResult {
  readonly matches: readonly ThresholdMatch[];
  /** The history entries these matches make (termsKey -> lastEvent), to merge into the stored history. */
  readonly history: Map<string, number>;
  /** More buckets matched than maxMatches. */
  readonly truncated: boolean;
}

interface Bucket {
  readonly terms: Term[];
  readonly key: string;
  count: number;
  cardinality?: number;
  from: number;
  last: number;
}

function statsAggs(scope: AggregateScope, cardinalityField: string | undefined): EsQuery {
  return { ...timeAggs(scope), ...(cardinalityField ? { distinct: { cardinality: { field: cardinalityField } } } : {}) };
}

function bucketOf(terms: Term[], count: number, agg: Record<string, any>): Bucket {
  const { first, last } = timesOf(agg);
  return { terms, key: termsKey(terms), count, cardinality: agg.distinct?.value, from: first ?? Number.NaN, last: last ?? Number.NaN };
}

function meets(spec: ThresholdSpec, count: number, cardinality: number | undefined): boolean {
  const c = spec.cardinality?.[0];
  return count >= spec.value && (!c || (cardinality ?? 0) >= c.value);
}

export async function findThresholdMatches(
  client: Client, scope: AggregateScope, spec: ThresholdSpec, options: ThresholdOptions, stats: AggregateStats,
): Promise<ThresholdResult> {
  validateThreshold(spec);
  const cardField = spec.cardinality?.[0]?.field;
  const inWindow = filtered(scope.query, timeRange(scope, { gte: scope.from, lte: scope.to }));
  const max = options.maxMatches ?? Number.POSITIVE_INFINITY;
  const reaches = (key: string) => {
    const last = options.history?.get(key);
    return last !== undefined && last >= scope.from;
  };
  const candidates: Bucket[] = [];
  let truncated = false;
  if (spec.fields.length === 0) {
    const res = await aggregateSearch(client, scope.indices, inWindow, statsAggs(scope, cardField), stats, 'threshold aggregation');
    const total = res.hits.total;
    const count = typeof total === 'number' ? total : total?.value ?? 0;
    const a = res.aggregations ?? {};
    if (count > 0 && meets(spec, count, a.distinct?.value)) candidates.push(bucketOf([], count, a));
  } else {
    let after: Record<string, unknown> | undefined;
    let unaffected = 0;
    const pageSize = options.pageSize ?? 10_000;
    do {
      const aggs = {
        buckets: {
          composite: { sources: compositeSources(spec.fields), size: pageSize, ...(after ? { after } : {}) },
          aggs: statsAggs(scope, cardField),
        },
      };
      const res = await aggregateSearch(client, scope.indices, inWindow, aggs, stats, 'threshold aggregation');
      const agg = res.aggregations?.buckets;
      for (const b of agg?.buckets ?? []) {
        if (!meets(spec, b.doc_count, b.distinct?.value)) continue;
        const bucket = bucketOf(termsOfKey(spec.fields, b.key), b.doc_count, b);
        candidates.push(bucket);
        if (!reaches(bucket.key)) unaffected++;
      }
      after = nextAfter(agg, after, pageSize);
      // Re-counts can only remove candidates that have history; the others are matches already.
      if (after && unaffected > max) {
        truncated = true;
        break;
      }
    } while (after);
  }
  await recount(client, scope, spec, candidates.filter((b) => reaches(b.key)), options, stats);
  const passing = candidates.filter((b) => b.count > 0 && meets(spec, b.count, b.cardinality));
  if (passing.length > max) truncated = true;
  const matches = passing.slice(0, Number.isFinite(max) ? max : undefined).map((b): ThresholdMatch => ({
    terms: b.terms,
    key: b.key,
    count: b.count,
    ...(cardField ? { cardinality: [{ field: cardField, value: b.cardinality ?? 0 }] } : {}),
    from: b.from,
    lastEvent: b.last,
    entity: `${b.key}@${new Date(b.from).toISOString()}`,
  }));
  return { matches, history: new Map(matches.map((m) => [m.key, m.lastEvent])), truncated };
}

/** Counts these buckets again without the events at or before their last alerted event. */
async function recount(client: Client, scope: AggregateScope, spec: ThresholdSpec, buckets: Bucket[], options: ThresholdOptions, stats: AggregateStats): Promise<void> {
  const chunk = options.recountChunk ?? 500;
  const cardField = spec.cardinality?.[0]?.field;
  for (let i = 0; i < buckets.length; i += chunk) {
    const part = buckets.slice(i, i + chunk);
    const filters: Record<string, EsQuery> = {};
    part.forEach((b, j) => {
      const last = options.history!.get(b.key)!;
      filters[`b${j}`] = { bool: { filter: [...b.terms.map((t) => ({ term: { [t.field]: t.value } })), timeRange(scope, { gt: last })] } };
    });
    const aggs = { recount: { filters: { filters }, aggs: statsAggs(scope, cardField) } };
    const res = await aggregateSearch(client, scope.indices, filtered(scope.query, timeRange(scope, { gte: scope.from, lte: scope.to })), aggs, stats, 'threshold re-count');
    const got = res.aggregations?.recount?.buckets ?? {};
    part.forEach((b, j) => {
      const again = bucketOf(b.terms, got[`b${j}`]?.doc_count ?? 0, got[`b${j}`] ?? {});
      Object.assign(b, { count: again.count, cardinality: again.cardinality, from: again.from, last: again.last });
    });
  }
}
