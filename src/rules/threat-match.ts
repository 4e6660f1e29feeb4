/**
 * Kibana's indicator match rules (`type = "threat_match"`) as an aggregated query
 * (rules/language.ts): the server does the matching, page by page, as Kibana's executor does.
 *
 * One execution: the indicators of `threat_index` matching `threat_query` + `threat_filters` are
 * read a page (`items_per_search`, default 9000 as Kibana's) at a time; for each page the event
 * query is the rule's query + filters + window + a `bool.should` holding, per indicator and
 * mapping item, a `bool.filter` of `term`s (event field = the indicator's value field), named by
 * its place in the page; those events are read (paged too), and the names the server says matched
 * give which indicator matched which mapping item (`threat.enrichments`, Kibana's shape). One match
 * per event (entity: its index and id), so overlapping executions and several pages dedupe.
 * Memory holds one page of indicators and one page of events; the cost is one indicator search
 * per page plus the event searches of each page.
 */
import * as z from 'zod';
import type { Client } from '@elastic/elasticsearch';
import { resolveDateMath } from '../config/date-math.js';
import type { EventRecord } from '../engine/events.js';
import { errorMessage, RuleLoadError, SearchError } from '../errors.js';
import type { EsQuery } from '../search/pushdown.js';
import { compileFilters, FilterError } from './filters.js';
import { KQL_TRANSLATOR, type QueryTranslator, type TranslatedQuery } from './aggregated.js';
import type { AggregateContext, AggregatedMatch, AggregatedQuery, QueryLanguage } from './language.js';
import type { Place, QueryEntry } from './registry.js';

/** One mapping item: every entry's event `field` equals the indicator's `value` field. */
export interface ThreatMappingItem {
  readonly entries: readonly { readonly field: string; readonly value: string }[];
}

export interface ThreatSpec {
  readonly threatIndex: readonly string[];
  readonly threatQuery: TranslatedQuery;
  /** The threat filters as a query clause (null: none). */
  readonly threatFilter: EsQuery | null;
  readonly mapping: readonly ThreatMappingItem[];
  readonly indicatorPath: string;
  readonly itemsPerSearch: number;
}

const PAGE = 1000;
/** Clauses of one event search: Elasticsearch 7 refuses a bool with more than 1,024 (`indices.query.bool.max_clause_count`). */
const CLAUSES = 1000;

const mappingSchema = z.array(z.looseObject({
  entries: z.array(z.looseObject({ field: z.string().min(1), type: z.literal('mapping'), value: z.string().min(1) })).min(1),
})).min(1);

/** A value from a document by a dotted path (nested objects or dotted keys). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  if (doc === null || typeof doc !== 'object') return [];
  if (Array.isArray(doc)) return doc.flatMap((d) => valuesAt(d, path));
  const rec = doc as Record<string, unknown>;
  if (path in rec) {
    const v = rec[path];
    return (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== undefined && typeof x !== 'object');
  }
  const parts = path.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const head = parts.slice(0, i).join('.');
    if (head in rec) return valuesAt(rec[head], parts.slice(i).join('.'));
  }
  return [];
}

/** Range bounds written as date math from `now` are resolved against the execution's end (`to`). */
export function resolveNow(q: unknown, to: number): unknown {
  if (Array.isArray(q)) return q.map((x) => resolveNow(x, to));
  if (q === null || typeof q !== 'object') return q;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
    if (k === 'range' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([field, bounds]) => [field, resolveBounds(bounds, to)]));
    } else out[k] = resolveNow(v, to);
  }
  return out;
}

function resolveBounds(bounds: unknown, to: number): unknown {
  if (!bounds || typeof bounds !== 'object') return bounds;
  const out: Record<string, unknown> = { ...(bounds as Record<string, unknown>) };
  for (const op of ['gt', 'gte', 'lt', 'lte']) {
    const v = out[op];
    if (typeof v !== 'string' || !v.trim().startsWith('now')) continue;
    // Rounding (`/d`) rounds down, as Elasticsearch does for gte and lt; for gt and lte it rounds up.
    const down = resolveDateMath(v, to);
    if (down === undefined) continue;
    let t = down;
    if ((op === 'gt' || op === 'lte') && v.includes('/')) {
      const unit = v.slice(v.lastIndexOf('/') + 1).trim();
      const ms: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, H: 3_600_000, d: 86_400_000 };
      if (ms[unit]) t = down + ms[unit] - 1;
    }
    out[op] = new Date(t).toISOString();
    delete out.format;
  }
  return out;
}

function windowClause(ctx: AggregateContext): EsQuery {
  const range = (f: string) => ({ range: { [f]: { gte: new Date(ctx.from).toISOString(), lt: new Date(ctx.to).toISOString(), format: 'strict_date_optional_time' } } });
  if (!ctx.fallbackTimestampField) return range(ctx.timestampField);
  return { bool: { should: [range(ctx.timestampField), { bool: { must_not: [{ exists: { field: ctx.timestampField } }], filter: [range(ctx.fallbackTimestampField)] } }], minimum_should_match: 1 } };
}

interface Hit { readonly _index: string; readonly _id: string; readonly _source?: Record<string, unknown>; readonly matched_queries?: readonly string[] }

/** Pages of hits through a point in time, `search_after` on `_shard_doc`. */
async function* pages(client: Client, indices: readonly string[], query: EsQuery, size: number): AsyncGenerator<Hit[]> {
  let pit: string;
  try {
    pit = (await client.openPointInTime({ index: indices.join(','), keep_alive: '2m', ignore_unavailable: true })).id;
  } catch (err) {
    throw new SearchError(`cannot open a point in time on ${indices.join(',')}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    let after: unknown[] | undefined;
    for (;;) {
      let res;
      try {
        res = await client.search({ pit: { id: pit, keep_alive: '2m' }, size, sort: [{ _shard_doc: 'asc' }] as never, search_after: after as never, query: query as never, track_total_hits: false });
      } catch (err) {
        throw new SearchError(`search on ${indices.join(',')} failed: ${errorMessage(err)}`, { cause: err });
      }
      if (res.pit_id) pit = res.pit_id;
      const hits = res.hits.hits as unknown as (Hit & { sort?: unknown[] })[];
      if (hits.length > 0) yield hits;
      if (hits.length < size) return;
      after = hits[hits.length - 1].sort;
    }
  } finally {
    await client.closePointInTime({ id: pit }).catch(() => undefined);
  }
}

const and = (clauses: (EsQuery | null)[]): EsQuery => ({ bool: { filter: clauses.filter((c): c is EsQuery => c !== null) } });

/** The clause of one indicator and mapping item: every entry's event field holds the indicator's value; null when a value is missing. */
function itemClause(item: ThreatMappingItem, indicator: Record<string, unknown>, name: string): EsQuery | null {
  const terms: EsQuery[] = [];
  for (const e of item.entries) {
    const v = valuesAt(indicator, e.value)[0];
    if (v === undefined) return null;
    terms.push({ term: { [e.field]: { value: v } } });
  }
  return { bool: { filter: terms, _name: name } };
}

export function threatMatchQuery(spec: ThreatSpec, language: QueryLanguage, query: TranslatedQuery): AggregatedQuery {
  const mappedFields = spec.mapping.flatMap((m) => m.entries.map((e) => e.field));
  const fields = [...new Set([...query.fields, ...mappedFields])];
  return {
    language, kind: 'threat_match', plan: 'aggregated', fields,
    namedFields: new Map(fields.filter((f) => !f.includes('*')).map((f) => [f, [f]] as [string, string[]])), readBackMs: 0, overlapMs: 0,
    alert: { category: 'Indicator Match Rule', noun: 'indicator match', grouped: false },
    async aggregate(ctx) {
      // The threat query's field types: the indicators' indices, asked only for its fields.
      const { fetchFieldTypes } = await import('../search/field-caps.js');
      const threatTypes = await fetchFieldTypes(ctx.client, spec.threatIndex, spec.threatQuery.fields);
      const threatDsl = resolveNow(spec.threatQuery.toDsl(threatTypes), ctx.to) as EsQuery | null;
      const indicatorQuery = and([threatDsl, spec.threatFilter]);
      const eventBase = [resolveNow(query.toDsl(ctx.types), ctx.to) as EsQuery | null, ctx.filter, windowClause(ctx)];
      const found = new Map<string, { event: EventRecord; enrichments: Record<string, unknown>[] }>();
      for await (const indicators of pages(ctx.client, spec.threatIndex, indicatorQuery, spec.itemsPerSearch)) {
        // Each clause is named `<indicator>:<item>` (its place in the page): the server says which matched.
        const should: EsQuery[] = [];
        indicators.forEach((ind, i) => spec.mapping.forEach((item, m) => {
          const c = itemClause(item, ind._source ?? {}, `${i}:${m}`);
          if (c) should.push(c);
        }));
        for (let c = 0; c < should.length; c += CLAUSES) {
          const eventQuery = and([...eventBase, { bool: { should: should.slice(c, c + CLAUSES), minimum_should_match: 1 } }]);
          for await (const events of pages(ctx.client, ctx.indices, eventQuery, PAGE)) {
            for (const ev of events) {
              const key = JSON.stringify([ev._index, ev._id]);
              let entry = found.get(key);
              if (!entry) {
                if (found.size >= ctx.maxSignals) continue;
                entry = { event: toEvent(ev, ctx), enrichments: [] };
                found.set(key, entry);
              }
              for (const name of ev.matched_queries ?? []) {
                const [i, m] = name.split(':').map(Number);
                const ind = indicators[i];
                const item = spec.mapping[m];
                if (!ind || !item) continue;
                const isrc = ind._source ?? {};
                const indicator = objectAt(isrc, spec.indicatorPath);
                for (const e of item.entries) {
                  entry.enrichments.push({
                    indicator: indicator ?? {},
                    matched: { atomic: valuesAt(isrc, e.value)[0], field: e.field, id: ind._id, index: ind._index, type: 'indicator_match_rule' },
                  });
                }
              }
            }
          }
        }
      }
      return [...found.entries()].map(([key, { event, enrichments }]): AggregatedMatch => ({
        events: [event], joinKeys: [],
        entity: { key, fields: { event: { index: event.index, id: event.id } }, timestamp: event.timestamp, alertFields: { 'threat.enrichments': enrichments } },
      }));
    },
  };
}

function objectAt(doc: Record<string, unknown>, path: string): unknown {
  if (path in doc) return doc[path];
  let cur: unknown = doc;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function toEvent(hit: Hit, ctx: AggregateContext): EventRecord {
  const source = hit._source ?? {};
  const ts = valuesAt(source, ctx.timestampField)[0] ?? (ctx.fallbackTimestampField ? valuesAt(source, ctx.fallbackTimestampField)[0] : undefined);
  const ms = typeof ts === 'number' ? ts : Date.parse(String(ts));
  return { index: hit._index, id: hit._id, timestamp: Number.isFinite(ms) ? ms : ctx.from, source };
}

export function threatMatchEntry(translate: QueryTranslator = KQL_TRANSLATOR, language: QueryLanguage = 'kuery'): QueryEntry {
  return {
    type: 'threat_match', language,
    compile(r, place: Place) {
      const rec = r as Record<string, unknown>;
      const fail = (key: string, msg: string, at = key) => new RuleLoadError(place.file, `rule.${key}: ${msg}`, place.at(rec[at] === undefined ? 'type' : at));
      const idx = z.array(z.string().min(1)).min(1).safeParse(rec.threat_index);
      if (!idx.success) throw fail('threat_index', `an indicator match rule needs a list of indicator indices, found ${JSON.stringify(rec.threat_index)}`);
      const mapping = mappingSchema.safeParse(rec.threat_mapping);
      if (!mapping.success) {
        const i = mapping.error.issues[0];
        const where = i.path.length ? `.${i.path.map(String).join('.')}` : '';
        throw fail(`threat_mapping${where}`, `expected [{ entries: [{ field, type: "mapping", value }] }]: ${i.message}`, 'threat_mapping');
      }
      const tq = rec.threat_query ?? '*';
      if (typeof tq !== 'string') throw fail('threat_query', `expected a KQL query, found ${JSON.stringify(tq)}`);
      const tl = rec.threat_language ?? 'kuery';
      if (tl !== 'kuery') throw fail('threat_language', `only 'kuery' is run by Lookout, found ${JSON.stringify(tl)}`);
      const path = rec.threat_indicator_path ?? 'threat.indicator';
      if (typeof path !== 'string' || path === '') throw fail('threat_indicator_path', `expected a field path, found ${JSON.stringify(path)}`);
      const per = rec.items_per_search ?? 9000;
      if (typeof per !== 'number' || !Number.isInteger(per) || per < 1 || per > 10_000) throw fail('items_per_search', `expected an integer from 1 to 10000, found ${JSON.stringify(per)}`);
      if (rec.concurrent_searches !== undefined && (typeof rec.concurrent_searches !== 'number' || !Number.isInteger(rec.concurrent_searches) || rec.concurrent_searches < 1)) {
        throw fail('concurrent_searches', `expected a positive integer, found ${JSON.stringify(rec.concurrent_searches)}`);
      }
      let threatFilter: EsQuery | null;
      try {
        threatFilter = compileFilters(Array.isArray(rec.threat_filters) ? rec.threat_filters : rec.threat_filters === undefined ? [] : [rec.threat_filters]).query as EsQuery | null;
      } catch (err) {
        if (err instanceof FilterError) throw fail('threat_filters', err.message.replace(/^filters/, 'threat_filters'));
        throw err;
      }
      let threatQuery: TranslatedQuery;
      try {
        threatQuery = translate(tq, 'kuery', { ...place, at: () => place.at('threat_query') });
      } catch (err) {
        if (err instanceof RuleLoadError) throw new RuleLoadError(place.file, err.message.replace(/^.*?rule\.query:/, 'rule.threat_query:'), { ...place.at('threat_query'), cause: err });
        throw err;
      }
      const spec: ThreatSpec = {
        threatIndex: idx.data, threatQuery, threatFilter, indicatorPath: path,
        mapping: mapping.data.map((m) => ({ entries: m.entries.map((e) => ({ field: e.field, value: e.value })) })), itemsPerSearch: per,
      };
      return threatMatchQuery(spec, language, translate(r.query ?? '', language, place));
    },
  };
}
