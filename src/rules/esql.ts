/**
 * Elastic's `esql` rules as streamed queries (rules/language.ts), run in memory by src/esql/ on
 * any Elasticsearch (7.17 included; 8.11+ the same way, so results do not depend on the server's
 * version). The execution reads the FROM indices over the rule window with the pushed-down
 * leading WHERE conjuncts (src/esql/pushdown.ts; `KQL()` through src/kql/) and feeds every hit to
 * one ES|QL run; its result rows are the matches, an alert per row, as Kibana's ES|QL rule type:
 *
 * - a row that comes out of one event (no STATS, no SORT) is tied to that event: the alert's id is
 *   made of the event's index and id (plus the row's values after MV_EXPAND, which makes several
 *   rows of one event), so overlapping executions alert on it once; the event's source is in the
 *   alert as for other rules, and the columns the query made are added at the top level;
 * - any other row (STATS, SORT) stands alone: its columns are written at the top level of the
 *   alert, and its id is made of the rule and the row's values, so an overlapping execution that
 *   finds the same row does not alert again (Kibana's id for these rows is made of the
 *   execution's window and the row's position, which alerts again on every overlapping run).
 *
 * STATS holds its groups in memory (bounded by `maxGroups`; the largest count is reported as the
 * matcher's open partials). A query Lookout cannot run (COMPLETION, ENRICH, ...) is skipped with
 * the reason; a syntax error is a load error at its place in the rule's file.
 */
import { compileEsql, type CompiledEsql, type EsqlRun } from '../esql/compile.js';
import { compileDissect, compileGrok } from '../esql/grok.js';
import { pushdown as esqlPushdown } from '../esql/pushdown.js';
import { rowToObject, type Row } from '../esql/values.js';
import type { EventRecord, RuleMatch } from '../engine/events.js';
import { EsqlSyntaxError, EsqlVerificationError, KqlSyntaxError, LookoutError, RuleLoadError, RuleSkipped } from '../errors.js';
import type { FieldTypeMap } from '../eql/types.js';
import { compileKql } from '../kql/compile.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { EsQuery } from '../search/pushdown.js';
import type { MatcherOptions, StreamedQuery, StreamMatcher } from './language.js';
import type { QueryEntry } from './registry.js';

/** Most STATS groups one execution holds. */
export const ESQL_MAX_GROUPS = 100_000;

/** An ES|QL rule's compiled query, with the ES|QL plan for `test-rule --table`. */
export interface EsqlQuery extends StreamedQuery {
  readonly language: 'esql';
  readonly esql: CompiledEsql;
  /** The field types it was compiled with (none until the indices' types are known). */
  readonly types: FieldTypes | undefined;
  /** A fresh run of the query (for the result table). */
  start(now: Date): EsqlRun;
}

export function asEsql(q: { language: string }): EsqlQuery | undefined {
  return q.language === 'esql' ? (q as EsqlQuery) : undefined;
}

/** `KQL("...")` inside ES|QL, evaluated with src/kql/ over the event's source (or the row). */
function kqlFactory(types: FieldTypes | undefined) {
  return (query: string) => {
    const m = compileKql(query).matcher({ types });
    return (row: Row, source: Readonly<Record<string, unknown>> | undefined) => m.matches(source ?? rowToObject(row));
  };
}

function kqlToDsl(types: FieldTypes) {
  return (query: string): Record<string, unknown> | null => {
    try {
      return compileKql(query).toDsl(types);
    } catch (err) {
      if (err instanceof KqlSyntaxError) return null;
      throw err;
    }
  };
}

/** Compiles the query; throws EsqlSyntaxError / EsqlVerificationError as compileEsql does. */
export function compileEsqlQuery(source: string, types?: FieldTypes): EsqlQuery {
  const esql = compileEsql(source, { kql: kqlFactory(types), ...(types ? { fieldTypes: types } : {}) });
  const expands = esql.query.commands.some((c) => c.kind === 'mv_expand');
  const fields = esql.wholeSource ? [...esql.fields, '*'] : [...esql.fields];
  const query: EsqlQuery = {
    language: 'esql',
    kind: esql.aggregating ? 'aggregating' : 'event',
    plan: 'streamed',
    esql,
    types,
    fields,
    // Missing-field warnings name source fields only, not the columns the query makes.
    namedFields: new Map(esql.fields.filter((f) => !madeColumns(esql).has(f)).map((f) => [f, [f]])),
    readBackMs: 0,
    overlapMs: 0,
    alert: { category: 'ES|QL Rule', noun: 'ES|QL result', grouped: false },
    routing: null,
    needsIndexNames: false,
    pipes: [],
    sourceIndices: esql.sources,
    pushdown(): EsQuery | null {
      if (!types) return null;
      const { filters } = esqlPushdown(esql.leadingConjuncts, types, kqlToDsl(types));
      return filters.length === 0 ? null : { bool: { filter: [...filters] } };
    },
    start: (now) => esql.start({ now, maxGroups: ESQL_MAX_GROUPS }),
    matcher(options: MatcherOptions): StreamMatcher {
      // NOW() is the end of the window read (a backfill evaluates as of its window).
      const run = esql.start({ now: new Date(options.windowEnd ?? Date.now()), maxGroups: ESQL_MAX_GROUPS });
      let lastTime: number | undefined;
      const standalone = (row: Row): RuleMatch => {
        const fields = rowToObject(row);
        // A row of a query without STATS that kept _id and _index is its source document's (SORT holds rows to the end).
        const doc = !esql.aggregating && typeof fields._id === 'string' && typeof fields._index === 'string';
        const key = doc
          ? `doc\u0000${fields._index}\u0000${fields._id}${expands ? `\u0000${JSON.stringify(Object.entries(fields))}` : ''}`
          : `row\u0000${JSON.stringify(Object.entries(fields))}`;
        // Metadata columns (_id, _index, _version) are not fields of a document.
        const columns = Object.fromEntries(Object.entries(fields).filter(([k]) => !k.startsWith('_')));
        return { events: [], joinKeys: [], entity: { key, fields, timestamp: lastTime ?? Date.now(), alertFields: columns } };
      };
      return {
        push(e: EventRecord, emit) {
          if (run.done) return;
          lastTime = lastTime === undefined ? e.timestamp : Math.max(lastTime, e.timestamp);
          const rows = run.push({ _source: e.source as Record<string, unknown>, _id: e.id, _index: e.index });
          for (const row of rows) {
            const fields = rowToObject(row);
            const made: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(fields)) if (!k.startsWith('_') && !hasLeaf(e.source, k)) made[k] = v;
            const key = `doc\u0000${e.index}\u0000${e.id}${expands ? `\u0000${JSON.stringify(Object.entries(fields))}` : ''}`;
            emit({ events: [e], joinKeys: [], entity: { key, fields, timestamp: e.timestamp, alertFields: made } });
          }
        },
        finish(emit) {
          for (const row of run.finish()) emit(standalone(row));
        },
        get openPartials() {
          return run.stats().groups;
        },
      };
    },
    withFieldTypes(map: FieldTypeMap): EsqlQuery {
      const t = new Map<string, ReadonlySet<string>>();
      for (const [name, ft] of map) t.set(name, new Set([ft.type]));
      return compileEsqlQuery(source, t);
    },
  };
  return Object.freeze(query);
}

/** Columns the query makes (EVAL, GROK, DISSECT, RENAME targets, STATS aggregates). */
function madeColumns(esql: CompiledEsql): Set<string> {
  const made = new Set<string>();
  for (const c of esql.query.commands) {
    if (c.kind === 'eval') for (const f of c.fields) made.add(f.name);
    else if (c.kind === 'grok') for (const col of compileGrok(c.pattern).columns) made.add(col.name);
    else if (c.kind === 'dissect') for (const col of compileDissect(c.pattern, c.appendSeparator).columns) made.add(col);
    else if (c.kind === 'rename') for (const { to } of c.pairs) made.add(to);
    else if (c.kind === 'stats') for (const f of c.aggregates) made.add(f.name);
  }
  return made;
}

/** Whether a dotted name is a field of the source (nested or with dots in its keys). */
function hasLeaf(source: Readonly<Record<string, unknown>>, name: string): boolean {
  if (name in source) return true;
  const dot = name.indexOf('.');
  for (let i = dot; i > 0; i = name.indexOf('.', i + 1)) {
    const head = source[name.slice(0, i)];
    if (head && typeof head === 'object' && !Array.isArray(head) && hasLeaf(head as Record<string, unknown>, name.slice(i + 1))) return true;
  }
  return false;
}

/** `type = "esql"` rules: their query compiled by src/esql/, their indices from FROM. */
export const ESQL_ENTRY: QueryEntry = {
  type: 'esql',
  language: 'esql',
  compile(r, place) {
    if (!r.query) throw new RuleLoadError(place.file, 'rule.query: an ES|QL rule needs a query', place.at('type'));
    try {
      return compileEsqlQuery(r.query);
    } catch (err) {
      if (err instanceof EsqlSyntaxError) {
        throw new RuleLoadError(place.file, `rule.query: ES|QL syntax error: ${err.bareMessage}`, { ...place.inQuery(err), cause: err });
      }
      if (err instanceof EsqlVerificationError) throw new RuleSkipped(`ES|QL: ${err.reason} (query ${err.line}:${err.column})`);
      if (err instanceof LookoutError) throw new RuleLoadError(place.file, `rule.query: ES|QL: ${err.message}`, { ...place.at('query'), cause: err });
      throw err;
    }
  },
};
