/**
 * Elastic's `threshold` and `new_terms` rules as aggregated queries (rules/language.ts): their
 * specification read from the rule (TOML's `[rule.threshold]` / `[rule.new_terms]` tables, or a
 * Kibana export's `threshold`, `new_terms_fields`, `history_window_start`), their matches found on
 * the server by search/aggregate/, and alerts shaped as Kibana's
 * (`kibana.alert.threshold_result`, `kibana.alert.new_terms`).
 *
 * The rule's query is KQL: a QueryTranslator turns it into query DSL for the indices' field types
 * (KQL_TRANSLATOR, with src/kql/, as Kibana translates it; MATCH_ALL_ONLY takes `*` alone, for
 * tests). `aggregatedEntries(translate)` makes the registry entries; the default registry has
 * them with KQL. Lucene queries are not translated: such rules are skipped with the reason.
 */
import * as z from 'zod';
import { resolveDateMath } from '../config/date-math.js';
import { parseLookback } from '../config/duration.js';
import type { EventRecord } from '../engine/events.js';
import { KqlSyntaxError, RuleLoadError } from '../errors.js';
import { compileKql } from '../kql/compile.js';
import type { AggregateScope, NewTermsMatch, ThresholdMatch } from '../search/aggregate/index.js';
import { AggregateSpecError, validateThreshold, type ThresholdSpec } from '../search/aggregate/spec.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { EsQuery } from '../search/pushdown.js';
import type { AggregateContext, AggregatedMatch, AggregatedQuery, QueryLanguage } from './language.js';
import type { Place, QueryEntry, RuleFields } from './registry.js';

/** A rule's query, compiled once at load. */
export interface TranslatedQuery {
  /** The fields the query reads (their types are asked of `_field_caps` for `toDsl`). */
  readonly fields: readonly string[];
  /** Query DSL for the indices' field types; null: every event. */
  toDsl(types: FieldTypes): EsQuery | null;
}

/**
 * Compiles a rule's query (throwing RuleLoadError placed with `place`). The KQL module plugs in
 * as `(q, _l, place) => { const c = compileKql(q, ...); return { fields: c.fields, toDsl: (t) => c.toDsl(t) }; }`.
 */
export type QueryTranslator = (query: string, language: QueryLanguage, place: Place) => TranslatedQuery;

/** KQL as Kibana translates it (src/kql/); a syntax error is a load error on `rule.query`, with its place in the query. */
export const KQL_TRANSLATOR: QueryTranslator = (query, _language, place) => {
  try {
    const c = compileKql(query);
    return { fields: c.searchesAllFields ? [...c.fields, '*'] : c.fields, toDsl: (types) => c.toDsl(types) };
  } catch (err) {
    if (err instanceof KqlSyntaxError) {
      throw new RuleLoadError(place.file, `rule.query: KQL syntax error: ${err.bareMessage} (query ${err.line}:${err.column})`, { ...place.at('query'), cause: err });
    }
    throw err;
  }
};

/** For tests: `*` (or an empty query) is every event; any other query is refused at load. */
export const MATCH_ALL_ONLY: QueryTranslator = (query, language, place) => {
  if (query.trim() === '' || query.trim() === '*' || query.trim() === '*:*') return { fields: [], toDsl: () => null };
  throw new RuleLoadError(place.file, `rule.query: ${language} queries other than "*" are not translated yet`, place.at('query'));
};

const fieldList = z.union([z.string().transform((s) => (s === '' ? [] : [s])), z.array(z.string().min(1))]);
const thresholdSchema = z.looseObject({
  field: fieldList.default([]),
  value: z.number().int().min(1),
  cardinality: z.array(z.looseObject({ field: z.string().min(1), value: z.number().int().min(1) })).default([]),
});
/** TOML: `[rule.new_terms] field = "new_terms_fields", value = [...]` with `[[rule.new_terms.history_window_start]]`. */
const newTermsTomlSchema = z.looseObject({
  field: z.literal('new_terms_fields'),
  value: z.array(z.string().min(1)),
  history_window_start: z.array(z.looseObject({ field: z.literal('history_window_start'), value: z.string().min(1) })).length(1),
});

function issueOf(err: z.ZodError): string {
  const i = err.issues[0];
  return `${i.path.map(String).join('.')}${i.path.length ? ': ' : ''}${i.message}`;
}

const combine = (query: EsQuery | null, filter: EsQuery | null): EsQuery | null =>
  query && filter ? { bool: { filter: [query, filter] } } : (query ?? filter);

function scopeOf(ctx: AggregateContext, query: EsQuery | null): AggregateScope {
  // The execution's window is [from, to); the aggregations take both ends inclusive.
  return {
    indices: ctx.indices, query: combine(query, ctx.filter), timestampField: ctx.timestampField,
    ...(ctx.fallbackTimestampField ? { fallbackTimestampField: ctx.fallbackTimestampField } : {}), from: ctx.from, to: ctx.to - 1,
  };
}

const base = (language: QueryLanguage, kind: string, fields: readonly string[]) => ({
  language, kind, plan: 'aggregated' as const, fields: [...new Set(fields)],
  // Wildcard names (and `*`, field-less terms) are for `_field_caps` only, never reported missing.
  namedFields: new Map(fields.filter((f) => !f.includes('*')).map((f) => [f, [f]] as [string, string[]])), readBackMs: 0, overlapMs: 0,
});

export function thresholdQuery(spec: ThresholdSpec, language: QueryLanguage, query: TranslatedQuery): AggregatedQuery {
  const card = spec.cardinality?.[0];
  return {
    ...base(language, 'threshold', [...spec.fields, ...(card ? [card.field] : []), ...query.fields]),
    alert: { category: 'Threshold Rule', noun: 'threshold', grouped: false },
    async aggregate(ctx) {
      // Loaded when a rule runs: `validate` and `--help` never load the Elasticsearch client.
      const { findThresholdMatches, newAggregateStats } = await import('../search/aggregate/index.js');
      const history = await ctx.store.thresholdHistory(ctx.ruleId);
      const result = await findThresholdMatches(ctx.client, scopeOf(ctx, query.toDsl(ctx.types)), spec, { history, maxMatches: ctx.maxSignals }, newAggregateStats());
      // Entries ending before this window can exclude nothing any more (Kibana drops them too).
      if (result.history.size > 0) ctx.afterWrite(() => ctx.store.saveThresholdHistory(ctx.ruleId, result.history, ctx.from).then(() => undefined));
      return result.matches.map(thresholdAlert);
    },
  };
}

function thresholdAlert(m: ThresholdMatch): AggregatedMatch {
  const result = {
    terms: m.terms.map((t) => ({ field: t.field, value: t.value })),
    count: m.count,
    ...(m.cardinality ? { cardinality: m.cardinality.map((c) => ({ ...c })) } : {}),
    from: new Date(m.from).toISOString(),
  };
  return {
    events: [], joinKeys: m.terms.map((t) => t.value),
    // Kibana's threshold alert takes the bucket's last event time, which its signal history keeps.
    entity: { key: m.entity, fields: result, timestamp: m.lastEvent, alertFields: { 'kibana.alert.threshold_result': result } },
  };
}

export function newTermsQuery(fields: readonly string[], historyWindowStart: string, language: QueryLanguage, query: TranslatedQuery): AggregatedQuery {
  return {
    ...base(language, 'new_terms', [...fields, ...query.fields]),
    alert: { category: 'New Terms Rule', noun: 'new terms', grouped: false },
    async aggregate(ctx) {
      // Kibana resolves history_window_start against the execution's end.
      const historyStart = resolveDateMath(historyWindowStart, ctx.to)!;
      const { findNewTerms, newAggregateStats } = await import('../search/aggregate/index.js');
      const result = await findNewTerms(ctx.client, scopeOf(ctx, query.toDsl(ctx.types)), { fields, historyStart }, { maxMatches: ctx.maxSignals }, newAggregateStats());
      return result.matches.map(newTermsAlert);
    },
  };
}

function newTermsAlert(m: NewTermsMatch): AggregatedMatch {
  const event: EventRecord = { index: m.event.index, id: m.event.id, timestamp: m.event.timestamp, source: m.event.source };
  return {
    events: [event], joinKeys: [...m.values],
    entity: { key: m.entity, fields: { new_terms: [...m.values] }, timestamp: m.firstSeen, alertFields: { 'kibana.alert.new_terms': [...m.values] } },
  };
}

function compileQuery(r: RuleFields, language: QueryLanguage, place: Place, translate: QueryTranslator): TranslatedQuery {
  return translate(r.query ?? '', language, place);
}

export function thresholdEntry(translate: QueryTranslator, language: QueryLanguage = 'kuery'): QueryEntry {
  return {
    type: 'threshold', language,
    compile(r, place) {
      const raw = (r as Record<string, unknown>).threshold;
      if (raw === undefined) throw new RuleLoadError(place.file, 'rule.threshold: a threshold rule needs a threshold (field, value)', place.at('type'));
      const parsed = thresholdSchema.safeParse(raw);
      if (!parsed.success) throw new RuleLoadError(place.file, `rule.threshold.${issueOf(parsed.error)}`, place.at('threshold'));
      const spec: ThresholdSpec = { fields: parsed.data.field, value: parsed.data.value, cardinality: parsed.data.cardinality.map((c) => ({ field: c.field, value: c.value })) };
      try {
        validateThreshold(spec);
      } catch (err) {
        if (err instanceof AggregateSpecError) throw new RuleLoadError(place.file, `rule.${err.message}`, place.at('threshold'));
        throw err;
      }
      return thresholdQuery(spec, language, compileQuery(r, language, place, translate));
    },
  };
}

export function newTermsEntry(translate: QueryTranslator, language: QueryLanguage = 'kuery'): QueryEntry {
  return {
    type: 'new_terms', language,
    compile(r, place) {
      const rec = r as Record<string, unknown>;
      let fields: unknown = rec.new_terms_fields;
      let start: unknown = rec.history_window_start;
      let key = 'new_terms_fields';
      if (rec.new_terms !== undefined) {
        const parsed = newTermsTomlSchema.safeParse(rec.new_terms);
        if (!parsed.success) throw new RuleLoadError(place.file, `rule.new_terms.${issueOf(parsed.error)}`, place.at('new_terms'));
        fields = parsed.data.value;
        start = parsed.data.history_window_start[0].value;
        key = 'new_terms';
      }
      const list = z.array(z.string().min(1)).min(1).max(3).safeParse(fields);
      if (!list.success) throw new RuleLoadError(place.file, `rule.${key === 'new_terms' ? 'new_terms.value' : key}: expected 1 to 3 field names, found ${JSON.stringify(fields)}`, place.at(key));
      if (new Set(list.data).size !== list.data.length) throw new RuleLoadError(place.file, `rule.${key}: a field appears twice (${list.data.join(', ')})`, place.at(key));
      const where = key === 'new_terms' ? 'new_terms.history_window_start' : 'history_window_start';
      if (typeof start !== 'string') throw new RuleLoadError(place.file, `rule.${where}: a new_terms rule needs date math like "now-7d", found ${JSON.stringify(start)}`, place.at(key === 'new_terms' ? key : 'type'));
      // Kibana's check: the history window must start before the rule's own window does.
      const now = Date.now();
      const resolved = resolveDateMath(start, now);
      if (resolved === undefined) throw new RuleLoadError(place.file, `rule.${where}: expected date math like "now-7d", found "${start}"`, place.at(key));
      const lookback = parseLookback(r.from);
      if (lookback !== undefined && resolved >= now - lookback) {
        throw new RuleLoadError(place.file, `rule.${where}: "${start}" must be earlier than the rule's from ("${r.from}")`, place.at(key));
      }
      return newTermsQuery(list.data, start, language, compileQuery(r, language, place, translate));
    },
  };
}

/** The threshold and new_terms entries for a query translator (the KQL module's, when it lands). */
export function aggregatedEntries(translate: QueryTranslator, languages: readonly QueryLanguage[] = ['kuery']): QueryEntry[] {
  return languages.flatMap((l) => [thresholdEntry(translate, l), newTermsEntry(translate, l)]);
}
