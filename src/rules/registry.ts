/**
 * Which (rule type, language) pairs Lookout runs, and how each compiles its query. A loader
 * (elastic-toml.ts, kibana-ndjson.ts) looks the pair up here; a pair nobody registered is
 * listed as skipped, never an error, and a language the rule type cannot have (by Kibana's
 * schema) is an error on `rule.language`.
 *
 * A new language registers an entry: `{ type, language, compile }`, where `compile` turns the
 * rule's fields into a CompiledQuery (rules/language.ts) and throws RuleLoadError, placed with
 * `place`, for a bad query. Add it to DEFAULT_ENTRIES (or pass a registry to the loader).
 */
import { compileEql } from '../eql/compile.js';
import { aggregatedEntries, KQL_TRANSLATOR } from './aggregated.js';
import { EqlSyntaxError, EqlVerificationError, KqlSyntaxError, type LookoutError, RuleLoadError } from '../errors.js';
import { compileKql } from '../kql/compile.js';
import { kqlQuery } from '../kql/query.js';
import { ESQL_ENTRY } from './esql.js';
import { threatMatchEntry } from './threat-match.js';
import type { CompiledQuery, QueryLanguage } from './language.js';
import type { RuleFile } from './schema.js';

/** Elastic's rule types (the rule's `type`), and Lookout's own `sigma`. */
export type RuleType = 'eql' | 'query' | 'saved_query' | 'threshold' | 'new_terms' | 'esql' | 'threat_match' | 'machine_learning' | 'sigma';

export type RuleFields = RuleFile['rule'];

/** Where an error goes in the rule's file: `at` a key, or at a position inside the query. */
export interface Place {
  readonly file: string;
  readonly at: (key: string) => { line?: number; column?: number };
  /** An error inside the query (its message ends with the position in the query, `(line:col)`). */
  readonly inQuery: (err: LookoutError) => { line?: number; column?: number };
}

export interface QueryEntry {
  readonly type: string;
  readonly language: QueryLanguage;
  /** The rule's query compiled; throws RuleLoadError for a query that cannot run. */
  compile(rule: RuleFields, place: Place): CompiledQuery;
}

/** Kibana's alerting rule type id per rule type (`kibana.alert.rule.rule_type_id`); Lookout's own types have none. */
export const KIBANA_RULE_TYPE_IDS: Readonly<Record<string, string>> = {
  eql: 'siem.eqlRule',
  query: 'siem.queryRule',
  saved_query: 'siem.savedQueryRule',
  threshold: 'siem.thresholdRule',
  new_terms: 'siem.newTermsRule',
  threat_match: 'siem.indicatorRule',
  machine_learning: 'siem.mlRule',
  esql: 'siem.esqlRule',
};

/** The languages Kibana accepts per rule type (the first is its default). */
const LANGUAGES: Readonly<Record<string, readonly QueryLanguage[]>> = {
  eql: ['eql'],
  query: ['kuery', 'lucene'],
  saved_query: ['kuery', 'lucene'],
  threshold: ['kuery', 'lucene'],
  new_terms: ['kuery', 'lucene'],
  threat_match: ['kuery', 'lucene'],
  esql: ['esql'],
};

/** EQL rules: the EQL compiler, with the rule's event category field. */
export const EQL_ENTRY: QueryEntry = {
  type: 'eql',
  language: 'eql',
  compile(r, place) {
    if (!r.query) throw new RuleLoadError(place.file, 'rule.query: an EQL rule needs a query', place.at('type'));
    try {
      return compileEql(r.query, { categoryField: r.event_category_override ?? 'event.category' });
    } catch (err) {
      if (err instanceof EqlSyntaxError || err instanceof EqlVerificationError) {
        const pos = place.inQuery(err);
        const message = err instanceof EqlSyntaxError ? `EQL syntax error: ${err.bareMessage}` : `EQL: ${err.message.replace(/ \(\d+:\d+\)$/, '')}`;
        throw new RuleLoadError(place.file, `rule.query: ${message}`, { ...pos, cause: err });
      }
      throw err;
    }
  },
};

/**
 * Kibana's custom query rules in KQL (`kuery`, their default language): the server runs the
 * translated query, an alert per matching event (kql/query.ts). `lucene` is not registered:
 * Lookout has no Lucene query-string parser, and a query it cannot check in memory would alert
 * on every event of a shared read; such rules are listed as skipped.
 */
export const KQL_QUERY_ENTRY: QueryEntry = {
  type: 'query',
  language: 'kuery',
  compile(r, place) {
    // An empty query is Kibana's match-all (a rule that relies on its filters).
    try {
      return kqlQuery(compileKql(r.query ?? ''));
    } catch (err) {
      if (err instanceof KqlSyntaxError) throw new RuleLoadError(place.file, `rule.query: KQL syntax error: ${err.bareMessage}`, { ...place.inQuery(err), cause: err });
      throw err;
    }
  },
};

/** EQL, KQL queries, threshold and new_terms (rules/aggregated.ts), threat_match (rules/threat-match.ts), ES|QL (rules/esql.ts). */
export const DEFAULT_ENTRIES: readonly QueryEntry[] = [EQL_ENTRY, KQL_QUERY_ENTRY, ...aggregatedEntries(KQL_TRANSLATOR), threatMatchEntry(KQL_TRANSLATOR), ESQL_ENTRY];

export type Lookup =
  | { readonly entry: QueryEntry; readonly language: QueryLanguage }
  | { readonly skipped: string }
  | { readonly error: string };

export class QueryRegistry {
  private readonly entries = new Map<string, QueryEntry>();

  constructor(entries: readonly QueryEntry[] = DEFAULT_ENTRIES) {
    for (const e of entries) {
      const key = `${e.type}\u0000${e.language}`;
      if (this.entries.has(key)) throw new Error(`rule type '${e.type}' with language '${e.language}' is registered twice`);
      this.entries.set(key, e);
    }
  }

  /** The entry for a rule's type and language (Kibana's default language when it has none). */
  lookup(type: string, language: string | undefined): Lookup {
    const allowed = LANGUAGES[type];
    const lang = (language ?? allowed?.[0]) as QueryLanguage | undefined;
    const registered = [...this.entries.values()].filter((e) => e.type === type);
    if (registered.length === 0 || lang === undefined) return { skipped: `rule type '${type}' is not run by Lookout yet` };
    if (allowed && !allowed.includes(lang)) {
      return { error: `rule.language: type '${type}' needs language ${allowed.map((l) => `'${l}'`).join(' or ')}, found '${language}'` };
    }
    const entry = this.entries.get(`${type}\u0000${lang}`);
    if (!entry) return { skipped: `rule type '${type}' with language '${lang}' is not run by Lookout yet` };
    return { entry, language: lang };
  }
}

export const DEFAULT_REGISTRY = new QueryRegistry();
