/**
 * New terms on the server, as Kibana's new_terms rule finds them (its aggregation approach), in
 * three kinds of size-0 search per page of terms:
 *
 * 1. A composite aggregation over the rule's 1-3 fields in the window pages through the terms
 *    (combinations) seen there, `pageSize` at a time (`after_key`).
 * 2. For one page, the history window (from its start up to and including the window's start)
 *    says which of the page's terms it has: the others are new. One field: a composite
 *    aggregation over it, filtered by a `terms` query with the page's values. Two or three
 *    fields: a `filters` aggregation with one filter per combination of the page (2,000 a
 *    search), since per-field `terms` filters alone would also admit every pair of the page's
 *    values that the history has. Kibana asks the equivalent question (is the `min` of the time
 *    field over history and window after the window's start?) with a Painless `bucket_selector`,
 *    and joins the fields with a runtime field (a script again); asking for presence needs no
 *    script. Either way one count per term of the page comes back, never the history's documents.
 * 3. For the new combinations, one more composite over the window with `top_hits` (size 1, time
 *    ascending) fetches the first event that has each: the alert is built from it, as Kibana's.
 *
 * Multi-valued fields: the composite aggregation makes a bucket of every value (and of every
 * combination across arrays) of a document, which is what Kibana counts as a term.
 */
import type { Client } from '@elastic/elasticsearch';
import type { EsQuery } from '../pushdown.js';
import {
  aggregateSearch, compositeSources, filtered, firstEventAggs, firstHitOf, nextAfter, termsKey, termsOfKey, timeRange,
  type AggregateScope, type AggregateStats, type Term, type TermValue,
} from './common.js';
import { AggregateSpecError } from './spec.js';

export interface NewTermsSpec {
  /** `new_terms_fields`: 1 to 3 fields. */
  readonly fields: readonly string[];
  /** `history_window_start`, resolved (epoch ms): must be before the window's start. */
  readonly historyStart: number;
}

/** The first event in the window with the new terms. */
export interface FirstEvent {
  readonly index: string;
  readonly id: string;
  readonly timestamp: number;
  readonly source: Record<string, unknown>;
}

export interface NewTermsMatch {
  readonly terms: readonly Term[];
  /** The new values in field order (`kibana.alert.new_terms`). */
  readonly values: readonly TermValue[];
  readonly key: string;
  /** The first occurrence's time (epoch ms), inside the window. */
  readonly firstSeen: number;
  readonly event: FirstEvent;
  /**
   * The alert id's entity: the terms and their first occurrence. An overlapping execution whose
   * window still holds that first event finds the same term new again, and its alert has the same
   * id; a term that comes back after leaving the history window is a new alert.
   */
  readonly entity: string;
}

export interface NewTermsOptions {
  /** Terms per page, and buckets per composite request. Default 10,000 (Kibana's). */
  readonly pageSize?: number;
  /** Stop after this many matches (the rule's max_signals); default unlimited. */
  readonly maxMatches?: number;
  /** `_source` fields of the first events; default all. */
  readonly sourceIncludes?: readonly string[];
  /** With 2-3 fields: combinations checked against the history per search. Default 2,000. */
  readonly filtersPerSearch?: number;
}

export interface NewTermsResult {
  readonly matches: readonly NewTermsMatch[];
  /** More new terms than maxMatches. */
  readonly truncated: boolean;
  /** Pages of window terms. */
  readonly pages: number;
  /** Terms (combinations) seen in the window. */
  readonly windowTerms: number;
}

export function validateNewTerms(spec: NewTermsSpec, scope: AggregateScope): void {
  const n = spec.fields.length;
  if (n < 1 || n > 3) throw new AggregateSpecError(`new_terms_fields: expected 1 to 3 fields, found ${n}${n ? ` (${spec.fields.join(', ')})` : ''}`);
  if (new Set(spec.fields).size !== n) throw new AggregateSpecError(`new_terms_fields: a field appears twice (${spec.fields.join(', ')})`);
  if (spec.fields.some((f) => f.trim() === '')) throw new AggregateSpecError('new_terms_fields: an empty field name');
  if (!Number.isFinite(spec.historyStart) || spec.historyStart >= scope.from) {
    throw new AggregateSpecError(`history_window_start (${Number.isFinite(spec.historyStart) ? new Date(spec.historyStart).toISOString() : spec.historyStart}) must be earlier than the window's start (${new Date(scope.from).toISOString()})`);
  }
}

/** A `terms` filter per field with the values these combinations have for it. */
function valuesFilter(fields: readonly string[], combos: Iterable<readonly Term[]>): EsQuery[] {
  const values = fields.map(() => new Set<TermValue>());
  for (const terms of combos) terms.forEach((t, i) => values[i].add(t.value));
  return fields.map((field, i) => ({ terms: { [field]: [...values[i]] } }));
}

/** Every bucket of a composite aggregation, page by page. */
async function* compositeBuckets(
  client: Client, scope: AggregateScope, query: EsQuery, fields: readonly string[], size: number, subAggs: EsQuery, stats: AggregateStats, what: string,
): AsyncGenerator<Record<string, any>[]> {
  let after: Record<string, unknown> | undefined;
  do {
    const aggs = { terms: { composite: { sources: compositeSources(fields), size, ...(after ? { after } : {}) }, aggs: subAggs } };
    const res = await aggregateSearch(client, scope.indices, query, aggs, stats, what);
    const agg = res.aggregations?.terms;
    yield agg?.buckets ?? [];
    after = nextAfter(agg, after, size);
  } while (after);
}

/**
 * Which of these combinations the history has: a `filters` aggregation with one filter per
 * combination (a `term` per field), `chunk` filters a search. Exact, so the answer is one count
 * per combination of the page, whatever the history holds; the per-field `terms` filters of the
 * query let the server skip the documents that can match none.
 */
async function combinationsSeen(
  client: Client, scope: AggregateScope, inHistory: EsQuery, fields: readonly string[], combos: ReadonlyMap<string, readonly Term[]>, chunk: number, stats: AggregateStats,
): Promise<string[]> {
  const seen: string[] = [];
  const entries = [...combos];
  for (let i = 0; i < entries.length; i += chunk) {
    const part = entries.slice(i, i + chunk);
    const filters: Record<string, EsQuery> = {};
    part.forEach(([, terms], j) => {
      filters[`c${j}`] = { bool: { filter: terms.map((t) => ({ term: { [t.field]: t.value } })) } };
    });
    const query = filtered(scope.query, inHistory, ...valuesFilter(fields, part.map(([, t]) => t)));
    const res = await aggregateSearch(client, scope.indices, query, { seen: { filters: { filters } } }, stats, 'new terms: history of a page');
    const buckets = res.aggregations?.seen?.buckets ?? {};
    part.forEach(([key], j) => {
      if ((buckets[`c${j}`]?.doc_count ?? 0) > 0) seen.push(key);
    });
  }
  return seen;
}

export async function findNewTerms(
  client: Client, scope: AggregateScope, spec: NewTermsSpec, options: NewTermsOptions, stats: AggregateStats,
): Promise<NewTermsResult> {
  validateNewTerms(spec, scope);
  const { fields } = spec;
  const size = options.pageSize ?? 10_000;
  const max = options.maxMatches ?? Number.POSITIVE_INFINITY;
  const window = timeRange(scope, { gte: scope.from, lte: scope.to });
  const matches: NewTermsMatch[] = [];
  let pages = 0;
  let windowTerms = 0;
  for await (const page of compositeBuckets(client, scope, filtered(scope.query, window), fields, size, {}, stats, 'new terms: terms of the window')) {
    if (page.length === 0) continue;
    pages++;
    windowTerms += page.length;
    const onPage = new Map<string, Term[]>();
    for (const b of page) {
      const terms = termsOfKey(fields, b.key);
      onPage.set(termsKey(terms), terms);
    }
    // 2. Which of them the history window has seen. Its end is the window's start, included: an
    // event at that very time counts as history, as Kibana's `first_seen > start` has it.
    const fresh = new Map(onPage);
    const inHistory = timeRange(scope, { gte: spec.historyStart, lte: scope.from });
    if (fields.length === 1) {
      const historyQuery = filtered(scope.query, inHistory, ...valuesFilter(fields, onPage.values()));
      for await (const buckets of compositeBuckets(client, scope, historyQuery, fields, size, {}, stats, 'new terms: history of a page')) {
        for (const b of buckets) fresh.delete(termsKey(termsOfKey(fields, b.key)));
      }
    } else {
      for (const key of await combinationsSeen(client, scope, inHistory, fields, onPage, options.filtersPerSearch ?? 2000, stats)) fresh.delete(key);
    }
    if (fresh.size === 0) continue;
    // 3. The first event of each new term, in the window.
    const newTerms = [...fresh.values()];
    const firstQuery = filtered(scope.query, window, ...valuesFilter(fields, newTerms));
    const topHit = firstEventAggs(scope, options.sourceIncludes);
    const found: NewTermsMatch[] = [];
    for await (const buckets of compositeBuckets(client, scope, firstQuery, fields, size, topHit, stats, 'new terms: first events')) {
      for (const b of buckets) {
        const terms = termsOfKey(fields, b.key);
        const key = termsKey(terms);
        const hit = firstHitOf(b);
        if (!fresh.has(key) || !hit) continue;
        found.push({
          terms, values: terms.map((t) => t.value), key, firstSeen: hit.time,
          event: { index: hit.index, id: hit.id, timestamp: hit.time, source: hit.source },
          entity: `${key}@${new Date(hit.time).toISOString()}`,
        });
      }
    }
    // In the window's term order, as the pages came.
    const order = new Map([...onPage.keys()].map((k, i) => [k, i]));
    found.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    for (const m of found) {
      if (matches.length >= max) return { matches, truncated: true, pages, windowTerms };
      matches.push(m);
    }
  }
  return { matches, truncated: false, pages, windowTerms };
}
