/**
 * The seam between rule languages and the rest of Lookout. A loader compiles a rule's query
 * into a CompiledQuery; every later stage (read planning, routing, evaluation, windows and
 * backfill, alerts) asks the compiled query, never which language it came from.
 *
 * A new language plugs in as: parse -> compile (a value implementing StreamedQuery or
 * AggregatedQuery) -> pushdown (with the query DSL primitives of search/pushdown.ts) ->
 * evaluate (a StreamMatcher, or `aggregate` on the server); and a loader entry in
 * rules/registry.ts keyed by the rule's (type, language).
 *
 * Two plan kinds:
 * - `streamed`: the execution reads the events the pushed-down query selects (a superset) and
 *   the matcher decides in memory (EQL, Sigma, later KQL `query` rules).
 * - `aggregated`: the server does the work (aggregations for threshold and new_terms rules);
 *   `aggregate` returns the matches, each with its own entity (the bucket) for the alert id.
 * Both feed the same alert pipeline (engine/run.ts: dedup, max_signals cap, write).
 */
import type { Client } from '@elastic/elasticsearch';
import type { EventRecord, MatchEntity, RuleMatch } from '../engine/events.js';
import type { SharedStart } from '../engine/sequence.js';
import type { FieldTypeMap } from '../eql/types.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { IndexNames } from '../search/index-names.js';
import type { EsQuery, Pushdown } from '../search/pushdown.js';
import type { StateStore } from '../state/store.js';

/** The language of a rule's query (Kibana's `language`, plus Lookout's `sigma`). */
export type QueryLanguage = 'eql' | 'kuery' | 'lucene' | 'esql' | 'sigma';

/** How an alert describes a match of the query. */
export interface AlertStyle {
  /** `kibana.alert.rule.category`, e.g. 'Event Correlation Rule'. */
  readonly category: string;
  /** First word of the reason: '<noun> with process x ... created high alert R.' */
  readonly noun: string;
  /** Whether a match is a group of events (`kibana.alert.group.id` is written). */
  readonly grouped: boolean;
}

/** What the execution hands a matcher factory. */
export interface MatcherOptions {
  /** Alerts triggered before this time are not emitted (they belong to an earlier window: read-back). */
  readonly emitFrom?: number;
  /** EQL samples: samples per join key (Elasticsearch's `max_samples_per_key`). */
  readonly maxSamplesPerKey?: number;
  /** EQL sequences: first-stage partials shared with other rules (engine/share.ts). */
  readonly sharedStart?: SharedStart;
  /** Every name an event's index answers to (aliases, data streams), when `needsIndexNames`. */
  readonly indexNames?: IndexNames;
  /** An event whose index the query does not cover (counted and reported by the caller). */
  readonly onUnrouted?: (index: string) => void;
  /** The execution's clock (epoch ms), for `now` in a query's date math (KQL ranges). Default: the time of the check. */
  readonly now?: number;
  /** The end of the window read (epoch ms): what ES|QL's NOW() returns, so a backfill evaluates as of its window. */
  readonly windowEnd?: number;
}

/** In-memory evaluation over events in timestamp order (engine/evaluator.ts orders them). */
export interface StreamMatcher {
  push(event: EventRecord, emit: (m: RuleMatch) => void): void;
  /** End of the stream: emit what is held back. */
  finish?(emit: (m: RuleMatch) => void): void;
  /** Partial matches held (for metrics). */
  readonly openPartials: number;
}

/** `| head N` keeps the first N results, `| tail N` the last N (still in ascending order). */
export interface ResultPipe {
  readonly name: 'head' | 'tail';
  readonly count: number;
}

interface QueryBase {
  readonly language: QueryLanguage;
  /** Language-specific shape, for messages and language-specific code (EQL: event, sequence, sample). */
  readonly kind: string;
  /** Fields the query reads (fetched from `_source`, and asked of `_field_caps`). */
  readonly fields: readonly string[];
  /**
   * The fields by the name the rule uses, each with the fields it may read: a name is reported
   * as missing when no target index has any of them (search/missing-fields.ts).
   */
  readonly namedFields: ReadonlyMap<string, readonly string[]>;
  /** How far before its window an execution must read (a correlation's read-back); 0 for none. */
  readonly readBackMs: number;
  /** How far a match may span (a sequence's maxspan): consecutive backfill chunks overlap this much. */
  readonly overlapMs: number;
  readonly alert: AlertStyle;
  /** Indices the query names itself (ES|QL's FROM): the rule's indices when it has no `index`. */
  readonly sourceIndices?: readonly string[];
  /**
   * The query compiled again with the indices' field types (rules/typed.ts); itself when nothing
   * changes. `caps`: the `_field_caps` types as fetched (conflicts, object and nested kept), when known.
   */
  withFieldTypes?(types: FieldTypeMap, caps?: FieldTypes): CompiledQuery;
  /** Fields where the in-memory verdict only approximates the server's (KQL on text fields; `*`: field-less terms); reported, never silent. */
  readonly approximate?: readonly string[];
}

/**
 * A test an event must pass to matter to a query (engine/route.ts), shared by the rules of a read
 * through its key: two guards with the same key give the same result on every document, so the
 * router evaluates it once per event for all of them.
 */
export interface EventGuard {
  readonly key: string;
  readonly test: (doc: unknown) => boolean;
  /** The guard is the test that `field` holds `value` (an event category): the router may decide it from its routing. */
  readonly category?: { readonly field: string; readonly value: string };
  /** The guard is a membership test on one field's literals: the router decides the guards of a field together (engine/route.ts). */
  readonly literals?: LiteralSet;
}

/**
 * What `field == "x"`, `field in ("x", "y")`, `field : ("x", "y")` (no wildcard) and the like
 * test: on a document whose values at `field` are all strings, the test holds exactly when one
 * of them (lower-cased when `caseInsensitive`) is in `values` (lower-cased too then); on any
 * other document (a number, a boolean) the guard's own test decides.
 */
export interface LiteralSet {
  readonly field: string;
  readonly values: readonly string[];
  readonly caseInsensitive: boolean;
}

export interface StreamedQuery extends QueryBase {
  readonly plan: 'streamed';
  /** Routing of a shared read: only events whose `field` holds one of `categories`; null: every event. */
  readonly routing: { readonly field: string; readonly categories: ReadonlySet<string> } | null;
  /**
   * When an event can matter to the matcher at all: it passes every guard of at least one of the
   * lists (e.g. one list per sequence stage, the conjuncts of its condition). An event that does
   * not is not fed to the query in a shared read. Absent: every routed event may matter.
   */
  readonly guards?: readonly (readonly EventGuard[])[];
  /** Whether the matcher needs `indexNames` (it routes by index, as Sigma does). */
  readonly needsIndexNames: boolean;
  readonly pipes: readonly ResultPipe[];
  /** A query selecting a superset of the events the matcher accepts; null: read everything. */
  pushdown(dsl: Pushdown): EsQuery | null;
  /** A fresh matcher for one execution. */
  matcher(options: MatcherOptions): StreamMatcher;
}

/** What the execution hands `aggregate`: the rule's indices and time, over one window. */
export interface AggregateContext {
  readonly client: Client;
  readonly indices: readonly string[];
  readonly timestampField: string;
  /** Epoch milliseconds, [from, to). */
  readonly from: number;
  readonly to: number;
  /** The rule's Kibana filters as a query (to be applied with the aggregation), if any. */
  readonly filter: EsQuery | null;
  /** Field types of the indices (from `_field_caps`), for the query DSL builder. */
  readonly types: FieldTypes;
  /** Events that lack `timestampField` are taken by this one (the timestamp override's fallback). */
  readonly fallbackTimestampField?: string;
  /** The rule's id: the key of its state in the state store. */
  readonly ruleId: string;
  /** The rule's max_signals: more matches than this are not needed. */
  readonly maxSignals: number;
  /** Per-rule state that outlives an execution (a threshold rule's signal history). */
  readonly store: StateStore;
  /**
   * Work to do once the execution's alerts are written (state that must follow them, such as the
   * signal history: saved before the alerts, a failed write would lose them for good).
   */
  afterWrite(f: () => Promise<void>): void;
}

/** A match from the server: events are optional (e.g. a bucket's sample), the entity is not. */
export interface AggregatedMatch extends RuleMatch {
  readonly entity: MatchEntity;
}

export interface AggregatedQuery extends QueryBase {
  readonly plan: 'aggregated';
  /** The matches in the window, computed on the server. */
  aggregate(ctx: AggregateContext): Promise<readonly AggregatedMatch[]>;
}

export type CompiledQuery = StreamedQuery | AggregatedQuery;
export type { MatchEntity };
