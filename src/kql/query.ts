/**
 * A KQL query on the language seam (rules/language.ts): Kibana's `query` rules (and the KQL of
 * the other rule types) run as a streamed plan. The pushdown is the query DSL Kibana's detection
 * engine sends for the indices' field types (translate.ts), so the server selects the hits, and
 * the matcher (evaluate.ts) checks each hit in memory: a shared read brings events of other
 * rules too, and `test-rule` has no server. One alert per matching event, as Kibana's query
 * rule writes.
 *
 * Field types come from `_field_caps` at execution (`withFieldTypes`, with the raw types: the
 * evaluator needs conflicts and `nested` mappings, which the EQL type map leaves out); a query
 * with field-less terms names `*` among its fields, so that every field's type is fetched.
 * Where the in-memory verdict approximates the server's (text fields, field-less terms,
 * conflicting types, or no types at all), `approximate` lists the fields, and the execution
 * log and `test-rule` say so.
 */
import type { FieldTypeMap } from '../eql/types.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { AlertStyle, MatcherOptions, StreamedQuery, StreamMatcher } from '../rules/language.js';
import type { CompiledKql } from './compile.js';

/** Kibana's query rule alert: `kibana.alert.rule.category` and the reason's first word. */
const QUERY_STYLE: AlertStyle = { category: 'Custom Query Rule', noun: 'event', grouped: false };

export interface KqlStreamedQuery extends StreamedQuery {
  readonly kql: CompiledKql;
  /** The field types it evaluates with; undefined before they are known (values compare as they are). */
  readonly types: FieldTypes | undefined;
}

/** Types from a mapping file (test-rule --mapping) when no `_field_caps` answer is at hand. */
function fromTypeMap(types: FieldTypeMap): FieldTypes {
  return new Map([...types].map(([name, t]) => [name, new Set([t.type])]));
}

export function kqlQuery(kql: CompiledKql, types?: FieldTypes): KqlStreamedQuery {
  const fields = kql.searchesAllFields ? [...kql.fields, '*'] : kql.fields;
  // A wildcard name stands for whatever fields it matches: it is never reported as missing.
  const named = kql.fields.filter((f) => !f.split('.').some((p) => p.includes('*')));
  const { approximate } = kql.matcher({ types });
  const q: KqlStreamedQuery = {
    language: 'kuery',
    kind: 'query',
    plan: 'streamed',
    kql,
    types,
    fields: Object.freeze(fields),
    namedFields: new Map(named.map((f) => [f, [f]] as const)),
    readBackMs: 0,
    overlapMs: 0,
    alert: QUERY_STYLE,
    routing: null,
    needsIndexNames: false,
    pipes: [],
    approximate: Object.freeze(approximate),
    pushdown: (dsl) => kql.toDsl(dsl.fieldTypes),
    matcher: (options: MatcherOptions): StreamMatcher => {
      const now = options.now;
      const m = kql.matcher({ types, now: now === undefined ? undefined : () => now });
      return {
        openPartials: 0,
        push(e, emit) {
          if (m.matches(e.source)) emit({ events: [e], joinKeys: [] });
        },
      };
    },
    withFieldTypes: (typeMap, caps) => kqlQuery(kql, caps ?? fromTypeMap(typeMap)),
  };
  return Object.freeze(q);
}
