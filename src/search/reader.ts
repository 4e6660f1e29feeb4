/**
 * Streams the events of one window in timestamp order, page by page.
 *
 * Two ways to page through a consistent view: a point in time with `search_after` on
 * (timestamp, `_shard_doc`), the total sort Elasticsearch recommends; and a sorted scroll, for
 * clusters where point in time is unavailable (some 7.x distributions). `auto` tries point in
 * time once per client and remembers a refusal. Missing indices are not an error. Only the
 * `_source` fields the rule and the alert need are fetched.
 *
 * An answer is not taken as complete when it is not: failed shards (`_shards.failed`), a
 * search that timed out, or a point in time / scroll that answers from fewer shards than it
 * started with are noted in the read's stats (`incomplete`), and the execution is partial.
 *
 * With `timestamp_override` and Elastic's fallback, events that carry the override are read by
 * it, events that lack it by `@timestamp`, and the two ordered streams are merged.
 */
import type { Client } from '@elastic/elasticsearch';
import { parseEventTime, parseTimestamp, type EventRecord } from '../engine/events.js';
import { compileGetter } from '../engine/fields.js';
import { errorMessage, SearchError } from '../errors.js';
import { errorTypeOf, statusOf } from './client.js';
import type { EsQuery } from './pushdown.js';
import { decidableFields, decideOnValues, valuesAggs, valuesOf } from './window-values.js';

export type ReadMode = 'auto' | 'pit' | 'scroll';

export interface ReadRequest {
  readonly indices: readonly string[];
  readonly timestampField: string;
  /** Also read events that lack `timestampField`, ordered by this field (`@timestamp`). */
  readonly fallbackTimestampField?: string;
  /** Window, epoch milliseconds, both ends inclusive. */
  readonly from: number;
  readonly to: number;
  readonly query: EsQuery | null;
  readonly sourceIncludes: readonly string[];
  readonly pageSize: number;
  readonly mode: ReadMode;
  /** A full page the cluster takes at least this long on (ms) doubles the next page, up to `maxPageSize`. Default 100. */
  readonly slowPageMs?: number;
  /** Default 10,000 (the cluster's usual result window). */
  readonly maxPageSize?: number;
  /**
   * A superset of `query` the cluster runs faster (search/union.ts widen). When the first page
   * is full and slow, the read goes on with it if it holds at most half as many documents again.
   */
  readonly cheaperQuery?: EsQuery | null;
  /**
   * Ask first: before any page, the cluster counts the window's documents for `cheaperQuery` (a
   * cheap count: it has no term-dictionary clauses); when they fit one page of `maxPageSize`,
   * the whole read uses it, and the query's costly clauses never run. For shared reads, whose
   * union of many rules pays for its wildcard clauses on every page, whatever the window holds
   * (search/union.ts says what was measured). The same request asks for the window's values of
   * the fields the query's costly clauses test (search/window-values.ts): where they are all
   * known, those clauses are decided on them and become `terms` queries, and the read selects
   * what the query selects, without the costly clauses and without the cheaper query's extra
   * documents (`narrowed`); else the cheaper query as above.
   */
  readonly cheaperFirst?: boolean;
}

export interface ReadStats {
  hits: number;
  pages: number;
  /** Hits that could not become events, by reason. */
  skipped: Record<string, number>;
  mode?: 'pit' | 'scroll';
  /** The read went on with the cheaper query. */
  widened?: boolean;
  /** The query's costly clauses were decided on the window's values (see ReadRequest.cheaperFirst). */
  narrowed?: boolean;
  /**
   * Why the answer may lack events: failed shards (`index[shard]: type: reason`), a timed-out
   * search, shards lost by the point in time or scroll. Empty when the read is complete.
   */
  incomplete: string[];
  /** The longest ingest lag seen: `event.ingested` less the event's time (ms), where events carry it. */
  maxIngestLagMs?: number;
}

export function newReadStats(): ReadStats {
  return { hits: 0, pages: 0, skipped: {}, incomplete: [] };
}

const pitRefused = new WeakSet<Client>();

interface ShardsInfo {
  total?: number;
  failed?: number;
  failures?: { index?: string | null; shard?: number; reason?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } } }[];
}

/** At most this many distinct reasons are kept per read. */
const MAX_INCOMPLETE = 10;

function note(stats: Pick<ReadStats, 'incomplete'>, what: string): void {
  if (stats.incomplete.length < MAX_INCOMPLETE && !stats.incomplete.includes(what)) stats.incomplete.push(what);
}

/**
 * Notes what makes one answer incomplete. `expectedShards` is the shard count the read began
 * with (a point in time or scroll answering from fewer has lost some); returns this answer's.
 * Also used by the aggregations (search/aggregate/).
 */
export function checkAnswer(res: { timed_out?: boolean; _shards?: ShardsInfo }, stats: Pick<ReadStats, 'incomplete'>, expectedShards?: number): number | undefined {
  const shards = res._shards;
  if (res.timed_out) note(stats, 'the search timed out: its answer holds only what the shards found in time');
  if (shards && (shards.failed ?? 0) > 0) {
    for (const f of shards.failures ?? []) {
      const cause = f.reason?.caused_by ?? f.reason;
      note(stats, `${f.index ?? '?'}[${f.shard ?? '?'}]: ${cause?.type ?? 'failure'}: ${cause?.reason ?? ''}`.trim());
    }
    if (!shards.failures?.length) note(stats, `${shards.failed} shard(s) failed`);
  }
  if (expectedShards !== undefined && shards?.total !== undefined && shards.total < expectedShards) {
    note(stats, `shards lost during the read: ${expectedShards} at the start, ${shards.total} now`);
  }
  return shards?.total;
}

interface Hit {
  _index: string;
  _id?: string;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}

/** Pages of events, in timestamp order. */
export async function* readEvents(client: Client, req: ReadRequest, stats: ReadStats): AsyncGenerator<EventRecord[]> {
  const primaryRange = { range: { [req.timestampField]: { gte: req.from, lte: req.to, format: 'epoch_millis' } } };
  const cheaper = (range: EsQuery) => (req.cheaperQuery === undefined ? undefined : withFilter(req.cheaperQuery, range));
  const primary = pagesFor(client, req, req.timestampField, withFilter(req.query, primaryRange), stats, cheaper(primaryRange));
  if (!req.fallbackTimestampField || req.fallbackTimestampField === req.timestampField) {
    yield* primary;
    return;
  }
  const fb = req.fallbackTimestampField;
  const fallbackFilter = {
    bool: {
      filter: [{ range: { [fb]: { gte: req.from, lte: req.to, format: 'epoch_millis' } } }],
      must_not: [{ exists: { field: req.timestampField } }],
    },
  };
  const fallback = pagesFor(client, req, fb, withFilter(req.query, fallbackFilter), stats, cheaper(fallbackFilter));
  yield* pagesOf(mergeByTimestamp(eventsOf(primary), eventsOf(fallback)), req.pageSize);
}

function withFilter(query: EsQuery | null, filter: EsQuery): EsQuery {
  return query ? { bool: { filter: [filter, query] } } : { bool: { filter: [filter] } };
}

async function* pagesFor(client: Client, req: ReadRequest, tsField: string, query: EsQuery, stats: ReadStats, cheaper?: EsQuery): AsyncGenerator<EventRecord[]> {
  const getTs = compileGetter(tsField);
  const getIngested = compileGetter('event.ingested');
  const toEvent = (hit: Hit): EventRecord | undefined => {
    stats.hits++;
    if (!hit._source || typeof hit._source !== 'object') {
      stats.skipped['no _source'] = (stats.skipped['no _source'] ?? 0) + 1;
      return undefined;
    }
    // The sort value (epoch milliseconds, with a fraction for date_nanos), else the document's own.
    const ts = parseEventTime(hit.sort?.[0]) ?? parseEventTime(getTs(hit._source)[0]);
    if (ts === undefined) {
      const reason = `no usable ${tsField}`;
      stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
      return undefined;
    }
    const ingested = parseTimestamp(getIngested(hit._source)[0]);
    if (ingested !== undefined && ingested - ts.ms > (stats.maxIngestLagMs ?? Number.NEGATIVE_INFINITY)) stats.maxIngestLagMs = ingested - ts.ms;
    return { index: hit._index, id: hit._id ?? '', timestamp: ts.ms, ...(ts.nanos ? { nanos: ts.nanos } : {}), source: hit._source };
  };
  const tsSort = { [tsField]: { order: 'asc', unmapped_type: 'date', format: 'epoch_millis' } };
  const mode = req.mode === 'auto' ? (pitRefused.has(client) ? 'scroll' : 'pit') : req.mode;
  if (mode === 'pit') {
    const pit = await openPit(client, req, req.mode === 'auto');
    if (pit !== undefined) {
      stats.mode = 'pit';
      yield* readWithPit(client, pit, req, query, tsSort, toEvent, stats, cheaper);
      return;
    }
  }
  stats.mode = 'scroll';
  yield* readWithScroll(client, req, query, tsSort, toEvent, stats);
}

async function openPit(client: Client, req: ReadRequest, mayRefuse: boolean): Promise<string | undefined> {
  try {
    const res = await client.openPointInTime({ index: req.indices.join(','), keep_alive: '2m', ignore_unavailable: true });
    return res.id;
  } catch (err) {
    const status = statusOf(err);
    if (mayRefuse && (status === 400 || status === 404 || status === 405) && errorTypeOf(err) !== 'index_not_found_exception') {
      pitRefused.add(client);
      return undefined;
    }
    throw new SearchError(`cannot open a point in time on ${req.indices.join(',')}: ${errorMessage(err)}`, { statusCode: status, cause: err });
  }
}

async function* readWithPit(
  client: Client, pitId: string, req: ReadRequest, query: EsQuery, tsSort: EsQuery,
  toEvent: (h: Hit) => EventRecord | undefined, stats: ReadStats, cheaper?: EsQuery,
): AsyncGenerator<EventRecord[]> {
  let id = pitId;
  let active = query;
  const search = async (after: unknown[] | undefined, size: number) => {
    try {
      return await client.search({
        pit: { id, keep_alive: '2m' },
        size,
        sort: [tsSort, { _shard_doc: 'asc' }] as never,
        search_after: after as never,
        query: active as never,
        _source: { includes: [...req.sourceIncludes] },
        // The first page counts its hits when a cheaper query may take over (see below).
        track_total_hits: cheaper !== undefined && after === undefined,
      });
    } catch (err) {
      throw new SearchError(`search on ${req.indices.join(',')} failed: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  };
  // Read-ahead: the next page is requested before this one is handed over, so the cluster
  // searches while the rules evaluate. One page in flight at most: the reader never runs
  // further ahead of the evaluation than that (back-pressure by pulling).
  // Each page runs the query again; when the cluster spends long on it (many wildcard clauses,
  // as the union of many rules has), pages grow so the query runs fewer times.
  let size = req.pageSize;
  let counted: number | undefined;
  if (req.cheaperFirst && cheaper) {
    const probe = await probeOf(client, id, req, query, cheaper);
    id = probe.pitId ?? id;
    const wider = (counted = probe.count);
    const fits = wider < (req.maxPageSize ?? MAX_PAGE);
    if (probe.narrowed) {
      // Within the cheaper superset, the query with its costly clauses decided on the window's values.
      active = { bool: { filter: [cheaper, probe.narrowed] } };
      stats.narrowed = true;
    } else if (fits) {
      active = cheaper;
      stats.widened = true;
    }
    // One page holds it all (one more than counted, so the page is not full and no second search follows).
    if (fits && active !== query) size = Math.max(size, wider + 1);
  }
  let pageNo = 0;
  let shardsAtStart: number | undefined;
  let inFlight: Promise<Awaited<ReturnType<typeof search>>> | undefined = search(undefined, size);
  try {
    while (inFlight) {
      const res = await inFlight;
      inFlight = undefined;
      if (res.pit_id) id = res.pit_id;
      if (pageNo === 0) shardsAtStart = checkAnswer(res, stats);
      else checkAnswer(res, stats, shardsAtStart);
      const hits = res.hits.hits as Hit[];
      stats.pages++;
      const first = pageNo++ === 0;
      if (hits.length === size) {
        const slow = (res.took ?? 0) >= (req.slowPageMs ?? SLOW_PAGE_MS);
        if (slow && cheaper && active === query && first) {
          // search_after goes on from the same sort values with the cheaper superset: nothing
          // read twice, nothing missed, and the evaluators turn away what the query would have.
          const total = typeof res.hits.total === 'object' ? res.hits.total.value : Number(res.hits.total ?? 0);
          const wider = counted ?? (await countOf(client, req, cheaper));
          if (wider <= Math.max(total * 1.5, total + req.pageSize)) {
            active = cheaper;
            stats.widened = true;
          }
        }
        if (slow) size = Math.max(size, Math.min(req.maxPageSize ?? MAX_PAGE, size * 2));
        inFlight = search(hits[hits.length - 1].sort, size);
      }
      yield pageOf(hits, toEvent);
    }
  } finally {
    // Stopped early (an error downstream): the request in flight must not fail unobserved.
    if (inFlight) await inFlight.catch(() => undefined);
    await client.closePointInTime({ id }).catch(() => undefined);
  }
}

/**
 * One size-0 search through the point in time: how many documents the cheaper query selects, and
 * the query with its costly clauses decided on the window's values when all of them could be
 * (search/window-values.ts). A failed probe counts as a failed count.
 */
async function probeOf(client: Client, pitId: string, req: ReadRequest, query: EsQuery, cheaper: EsQuery): Promise<{ count: number; narrowed?: EsQuery; pitId?: string }> {
  const fields = decidableFields(query);
  if (fields.length === 0) return { count: await countOf(client, req, cheaper) };
  try {
    const res = await client.search({
      pit: { id: pitId, keep_alive: '2m' }, size: 0, track_total_hits: true, query: cheaper as never, aggs: valuesAggs(fields) as never,
    });
    const count = typeof res.hits.total === 'object' ? res.hits.total.value : Number(res.hits.total ?? 0);
    const incomplete: string[] = [];
    checkAnswer(res, { incomplete });
    if (incomplete.length > 0) return { count: Number.POSITIVE_INFINITY, pitId: res.pit_id };
    const decided = decideOnValues(query, valuesOf(fields, res.aggregations as Record<string, unknown> | undefined));
    return { count, pitId: res.pit_id, ...(decided.left === 0 ? { narrowed: decided.query } : {}) };
  } catch {
    return { count: await countOf(client, req, cheaper) };
  }
}

/** Documents the query selects (infinitely many when the count fails: the caller keeps its query). */
function countOf(client: Client, req: ReadRequest, query: EsQuery): Promise<number> {
  return client.count({ index: req.indices.join(','), ignore_unavailable: true, allow_no_indices: true, query: query as never }).then((r) => r.count, () => Number.POSITIVE_INFINITY);
}

/** A page the cluster took this long on (ms) makes the next page twice as large, up to MAX_PAGE. */
const SLOW_PAGE_MS = 100;
const MAX_PAGE = 10_000;

async function* readWithScroll(
  client: Client, req: ReadRequest, query: EsQuery, tsSort: EsQuery,
  toEvent: (h: Hit) => EventRecord | undefined, stats: ReadStats,
): AsyncGenerator<EventRecord[]> {
  let scrollId: string | undefined;
  try {
    let res;
    try {
      res = await client.search({
        index: req.indices.join(','),
        scroll: '2m',
        size: req.pageSize,
        sort: [tsSort, '_doc'] as never,
        query: query as never,
        _source: { includes: [...req.sourceIncludes] },
        ignore_unavailable: true,
        allow_no_indices: true,
      });
    } catch (err) {
      throw new SearchError(`search on ${req.indices.join(',')} failed: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
    const shardsAtStart = checkAnswer(res as never, stats);
    for (let page = 0; ; page++) {
      scrollId = res._scroll_id ?? scrollId;
      if (page > 0) checkAnswer(res as never, stats, shardsAtStart);
      const hits = res.hits.hits as Hit[];
      stats.pages++;
      yield pageOf(hits, toEvent);
      if (hits.length === 0 || !scrollId) return;
      try {
        res = await client.scroll({ scroll_id: scrollId, scroll: '2m' });
      } catch (err) {
        throw new SearchError(`scroll on ${req.indices.join(',')} failed: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
      }
    }
  } finally {
    if (scrollId) await client.clearScroll({ scroll_id: scrollId }).catch(() => undefined);
  }
}

function pageOf(hits: Hit[], toEvent: (h: Hit) => EventRecord | undefined): EventRecord[] {
  const page: EventRecord[] = [];
  for (const h of hits) {
    const e = toEvent(h);
    if (e) page.push(e);
  }
  return page;
}

async function* eventsOf(pages: AsyncGenerator<EventRecord[]>): AsyncGenerator<EventRecord> {
  for await (const page of pages) yield* page;
}

async function* pagesOf(events: AsyncGenerator<EventRecord>, size: number): AsyncGenerator<EventRecord[]> {
  let page: EventRecord[] = [];
  for await (const e of events) {
    page.push(e);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Merges two streams that are each in timestamp order. */
export async function* mergeByTimestamp(a: AsyncGenerator<EventRecord>, b: AsyncGenerator<EventRecord>): AsyncGenerator<EventRecord> {
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.timestamp <= y.value.timestamp)) {
      yield x.value as EventRecord;
      x = await a.next();
    } else {
      yield y.value;
      y = await b.next();
    }
  }
}
