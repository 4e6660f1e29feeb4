/**
 * Compiles a parsed ES|QL query into a plan: the FROM sources and metadata, the leading WHERE
 * conjuncts in a structured form that pushdown.ts can turn into query DSL, the columns read, and a
 * pipeline of operators that consumes events one at a time. Streaming operators (WHERE, EVAL,
 * KEEP, DROP, RENAME, GROK, DISSECT, MV_EXPAND, LIMIT) emit rows as they go; STATS, INLINE STATS
 * and SORT hold state and emit at the end (STATS with at most `maxGroups` groups; SORT followed
 * by LIMIT keeps only the top rows). Everything Lookout cannot run is refused here with an
 * EsqlVerificationError whose reason reads "not supported: <name>".
 */
import { LineIndex } from '../eql/locations.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { Call, Query } from './ast.js';
import { type LeadingConjunct, leadingConjuncts } from './conjuncts.js';
import { type ExprContext, ExprCompiler, type KqlPredicateFactory } from './expressions.js';
import { buildOperator, type Operator, type Schema, updateSchema, verification } from './operators.js';
import { parseEsql } from './parser.js';
import { type Row, rowFromSource } from './values.js';

export type { KqlPredicateFactory } from './expressions.js';
export type { LeadingConjunct, PushdownCondition } from './conjuncts.js';

/** One event as read from Elasticsearch. */
export interface EsqlEvent {
  readonly _source: Record<string, unknown>;
  readonly _id?: string;
  readonly _index?: string;
  readonly _version?: number;
}

export interface EsqlCompileOptions {
  /** Evaluates `KQL("...")`; without it a query using KQL is refused. */
  readonly kql?: KqlPredicateFactory;
  /** Column types from `_field_caps`: values are read as doc values (keywords sorted, deduplicated). Default: none. */
  readonly fieldTypes?: FieldTypes;
}

export interface EsqlRunOptions {
  /** The time NOW() returns. Default: the time `start` is called. */
  readonly now?: Date;
  /** Most STATS groups held at once; one more is an EsqlRuntimeError. Default 100000. */
  readonly maxGroups?: number;
  /** Elasticsearch's implicit LIMIT on the result, when the query does not end with a LIMIT of its own (then at most 10,000 rows). Default 1000. */
  readonly defaultLimit?: number;
}

export interface EsqlRunStats {
  readonly events: number;
  /** Largest number of STATS groups held. */
  readonly groups: number;
  readonly warnings: number;
  /** The first distinct warning texts (at most 20). */
  readonly warningTexts: readonly string[];
}

export interface EsqlRun {
  /** Feeds one event; returns the rows that are final now (only for queries without STATS or SORT). */
  push(event: EsqlEvent): Row[];
  /** Ends the input; returns the remaining rows. */
  finish(): Row[];
  /** True once a LIMIT is full and no more events can change the result. */
  readonly done: boolean;
  stats(): EsqlRunStats;
}

export interface CompiledEsql {
  readonly query: Query;
  readonly sources: readonly string[];
  readonly metadata: readonly string[];
  /**
   * Source columns the query needs: those its expressions read, KEEP names and RENAME sources,
   * before the first STATS (a superset: columns made by EVAL, GROK or DISSECT may be listed).
   */
  readonly fields: readonly string[];
  /** True if result rows may carry any source column (no STATS, and no KEEP of exact names only): read the whole _source. */
  readonly wholeSource: boolean;
  /**
   * The WHERE conjuncts that filter events as they come from the source: in the WHERE commands
   * before any that changes the set of rows (STATS, MV_EXPAND, LIMIT), and reading only source
   * columns (none made or renamed by EVAL, GROK, DISSECT or RENAME before them).
   */
  readonly leadingConjuncts: readonly LeadingConjunct[];
  /** Has STATS (an alert per result row carries its columns) rather than one row per event. */
  readonly aggregating: boolean;
  start(options?: EsqlRunOptions): EsqlRun;
}

const DOUBLE_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);

export function compileEsql(source: string, options: EsqlCompileOptions = {}): CompiledEsql {
  const query = parseEsql(source);
  const lines = new LineIndex(source);
  const first = query.commands[0];
  if (first.kind !== 'from') throw verification(lines, first.start, `not supported: ${first.kind === 'unsupported' ? first.name : first.kind}`);
  for (const c of query.commands) {
    if (c.kind === 'unsupported') throw verification(lines, c.start, `not supported: ${c.name}`);
  }
  // A dry build verifies every expression and collects what is read.
  const built = buildPipeline(query, source, lines, options, { now: new Date(0), warn: () => undefined }, {});
  const leading = leadingConjuncts(query, source);
  const aggregating = query.commands.some((c) => c.kind === 'stats' && !c.inline);
  const firstStats = query.commands.findIndex((c) => c.kind === 'stats' && !c.inline);
  const beforeStats = firstStats < 0 ? query.commands : query.commands.slice(0, firstStats);
  const wholeSource = firstStats < 0 && !query.commands.some((c) => c.kind === 'keep' && c.patterns.every((p) => !p.includes('*')));
  for (const c of beforeStats) {
    if (c.kind === 'keep') for (const p of c.patterns) if (!p.includes('*')) built.sourceReads.add(p);
    if (c.kind === 'rename') for (const { from } of c.pairs) built.sourceReads.add(from);
  }
  for (const m of first.metadata) built.sourceReads.delete(m);
  const lastLimit = query.commands.map((c) => c.kind).lastIndexOf('limit');
  const explicitLimit = lastLimit > 0 && !query.commands.slice(lastLimit).some((c) => c.kind === 'stats' || c.kind === 'mv_expand');
  return {
    query,
    sources: first.sources,
    metadata: first.metadata,
    fields: [...built.sourceReads].sort(),
    wholeSource,
    leadingConjuncts: leading,
    aggregating,
    start(runOptions: EsqlRunOptions = {}): EsqlRun {
      const warnings: string[] = [];
      let warningCount = 0;
      const ctx: ExprContext = {
        now: runOptions.now ?? new Date(),
        warn: (m) => {
          warningCount++;
          if (warnings.length < 20 && !warnings.includes(m)) warnings.push(m);
        },
      };
      const groupCounter = { max: 0 };
      const sources = new WeakMap<Row, Readonly<Record<string, unknown>>>();
      const p = buildPipeline(query, source, lines, options, ctx, { maxGroups: runOptions.maxGroups ?? 100_000, groupCounter, sources });
      // Elasticsearch adds `LIMIT 1000` unless the query ends its rows with a LIMIT of its own
      // (one after which no command makes more rows), and never returns more than 10,000.
      const implicit = runOptions.defaultLimit ?? 1000;
      const limit = explicitLimit ? Math.max(implicit, 10_000) : implicit;
      let emitted = 0;
      let events = 0;
      const metadataNames = first.metadata;
      const run = (feed: (emit: (r: Row) => void) => void): Row[] => {
        const out: Row[] = [];
        feed((r) => {
          if (emitted < limit) {
            emitted++;
            out.push(r);
          }
        });
        return out;
      };
      return {
        push(event: EsqlEvent): Row[] {
          events++;
          const meta: Record<string, unknown> = {};
          for (const m of metadataNames) meta[m] = (event as unknown as Record<string, unknown>)[m];
          const row = rowFromSource(event._source, meta, options.fieldTypes);
          sources.set(row, event._source);
          return run((emit) => p.push(row, emit));
        },
        finish(): Row[] {
          return run((emit) => p.finish(emit));
        },
        get done(): boolean {
          return emitted >= limit || p.full();
        },
        stats: () => ({ events, groups: groupCounter.max, warnings: warningCount, warningTexts: [...warnings] }),
      };
    },
  };
}

interface Built {
  push(row: Row, emit: (r: Row) => void): void;
  finish(emit: (r: Row) => void): void;
  full(): boolean;
  sourceReads: Set<string>;
}

function buildPipeline(
  query: Query,
  source: string,
  lines: LineIndex,
  options: EsqlCompileOptions,
  ctx: ExprContext,
  bounds: { maxGroups?: number; groupCounter?: { max: number }; sources?: WeakMap<Row, Readonly<Record<string, unknown>>> },
): Built {
  const doubles = new Set<string>();
  for (const [name, types] of options.fieldTypes ?? []) if ([...types].every((t) => DOUBLE_TYPES.has(t))) doubles.add(name);
  const sourceReads = new Set<string>();
  let reads = sourceReads;
  const lineColumn = (o: number) => lines.lineColumn(o);
  const keywordFields = new Set([...(options.fieldTypes ?? [])].filter(([, t]) => [...t].every((x) => x === 'keyword' || x === 'constant_keyword')).map(([n]) => n));
  const sourceOf = (row: Row) => bounds.sources?.get(row);
  const schema: Schema = { known: null };
  const compiler = (aggregateSlot?: (c: Call) => string) =>
    new ExprCompiler({ ctx, kql: options.kql, doubles, lineColumn, aggregateSlot, reads, keywordFields, sourceOf, known: schema.known });
  const build = { compiler, source, lines, doubles, bounds };
  const ops: Operator[] = [];
  const commands = query.commands.slice(1);
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const next = commands[i + 1];
    ops.push(buildOperator(c, next, build));
    if (c.kind === 'stats' && !c.inline) reads = new Set();
    updateSchema(schema, c);
  }
  void ctx;
  // The chain is built once; the final sink is swapped per call.
  let sink: (r: Row) => void = () => undefined;
  const stages: ((r: Row) => void)[] = [];
  stages[ops.length] = (r) => sink(r);
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    const downstream = stages[i + 1];
    stages[i] = (r) => op.push(r, downstream);
  }
  return {
    sourceReads,
    push(row, emit) {
      sink = emit;
      stages[0](row);
    },
    finish(emit) {
      sink = emit;
      for (let i = 0; i < ops.length; i++) ops[i].finish(stages[i + 1]);
    },
    full() {
      // Done when a LIMIT is full and nothing before it holds rows back.
      for (const op of ops) {
        if (op.full) return op.full();
        if (!('streaming' in op)) return false;
      }
      return false;
    },
  };
}
