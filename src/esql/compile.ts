/**
 * Compiles a parsed ES|QL query into a plan: the FROM sources and metadata, the leading WHERE
 * conjuncts in a structured form that pushdown.ts can turn into query DSL, the columns read, and a
 * pipeline of operators that consumes events one at a time. Streaming operators (WHERE, EVAL,
 * KEEP, DROP, RENAME, GROK, DISSECT, MV_EXPAND, LIMIT) emit rows as they go; STATS, INLINE STATS
 * and SORT hold state and emit at the end (STATS with at most `maxGroups` groups; SORT followed
 * by LIMIT keeps only the top rows). Everything Lookout cannot run is refused here with an
 * EsqlVerificationError whose reason reads "not supported: <name>".
 */
import { EsqlRuntimeError, EsqlVerificationError } from '../errors.js';
import { LineIndex } from '../eql/locations.js';
import type { FieldTypes } from '../search/field-caps.js';
import { AGGREGATES, type Accumulator } from './aggregates.js';
import type { Call, Command, Expr, Field, Query } from './ast.js';
import { key } from './functions.js';
import { compileDissect, compileGrok } from './grok.js';
import { type Evaluator, type ExprContext, ExprCompiler, type KqlPredicateFactory } from './expressions.js';
import { parseEsql } from './parser.js';
import { PatternError } from './regex.js';
import { compareScalars, type Row, rowFromSource, type Scalar, toList, type Value } from './values.js';

export type { KqlPredicateFactory } from './expressions.js';

/** One event as read from Elasticsearch. */
export interface EsqlEvent {
  readonly _source: Record<string, unknown>;
  readonly _id?: string;
  readonly _index?: string;
  readonly _version?: number;
}

/** A leading WHERE conjunct in a structured form (pushdown.ts decides which have an exact DSL form). */
export type PushdownCondition =
  | { readonly kind: 'eq'; readonly field: string; readonly values: readonly (string | number | boolean)[] }
  | { readonly kind: 'range'; readonly field: string; readonly op: '<' | '<=' | '>' | '>='; readonly value: string | number }
  | { readonly kind: 'exists'; readonly field: string; readonly negated: boolean }
  | { readonly kind: 'like'; readonly field: string; readonly pattern: string }
  | { readonly kind: 'kql'; readonly query: string }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly PushdownCondition[] }
  | { readonly kind: 'not'; readonly operand: PushdownCondition }
  | { readonly kind: 'other'; readonly text: string };

export interface LeadingConjunct {
  /** The conjunct's text in the query. */
  readonly text: string;
  readonly condition: PushdownCondition;
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
  /** Elasticsearch's implicit LIMIT on the result. Default 1000. */
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

interface Operator {
  push(row: Row, emit: (r: Row) => void): void;
  finish(emit: (r: Row) => void): void;
  /** Set by LIMIT when full. */
  full?: () => boolean;
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
      const limit = runOptions.defaultLimit ?? 1000;
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

function verification(lines: LineIndex, offset: number, reason: string): EsqlVerificationError {
  const { line, column } = lines.lineColumn(offset);
  return new EsqlVerificationError(reason, line, column);
}

function leadingConjuncts(query: Query, source: string): LeadingConjunct[] {
  const out: LeadingConjunct[] = [];
  const made = new Set<string>();
  for (const c of query.commands.slice(1)) {
    switch (c.kind) {
      case 'where':
        for (const e of conjuncts(c.condition)) {
          if (fieldRefs(e).every((f) => !made.has(f))) out.push({ text: source.slice(e.start, e.end), condition: toPushdown(e, source) });
        }
        break;
      case 'eval':
        for (const f of c.fields) made.add(f.name);
        break;
      case 'grok':
        for (const col of compileGrok(c.pattern).columns) made.add(col.name);
        break;
      case 'dissect':
        for (const col of compileDissect(c.pattern, c.appendSeparator).columns) made.add(col);
        break;
      case 'rename':
        for (const { from, to } of c.pairs) {
          made.add(to);
          made.add(from);
        }
        break;
      case 'keep':
      case 'drop':
      case 'sort':
        break;
      default:
        return out;
    }
  }
  return out;
}

function fieldRefs(e: Expr): string[] {
  switch (e.kind) {
    case 'field': return [e.name];
    case 'literal': case 'timespan': case 'map': return [];
    case 'call': return e.args.flatMap(fieldRefs);
    case 'compare': case 'arith': case 'and': case 'or': return [...fieldRefs(e.left), ...fieldRefs(e.right)];
    case 'not': case 'neg': case 'isnull': case 'cast': return fieldRefs(e.operand);
    case 'like': return fieldRefs(e.value);
    case 'in': return [...fieldRefs(e.value), ...e.list.flatMap(fieldRefs)];
  }
}

function conjuncts(e: Expr): Expr[] {
  return e.kind === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function literalValue(e: Expr): string | number | boolean | null | undefined {
  if (e.kind !== 'literal' || Array.isArray(e.value)) return undefined;
  return e.value as string | number | boolean | null;
}

/** The structured form of a leading WHERE conjunct; `other` when it has no simple shape. */
export function toPushdown(e: Expr, source: string): PushdownCondition {
  const other: PushdownCondition = { kind: 'other', text: source.slice(e.start, e.end) };
  switch (e.kind) {
    case 'and':
    case 'or': {
      const flat = (x: Expr): Expr[] => (x.kind === e.kind ? [...flat((x as { left: Expr }).left), ...flat((x as { right: Expr }).right)] : [x]);
      return { kind: e.kind, operands: flat(e).map((x) => toPushdown(x, source)) };
    }
    case 'not':
      return { kind: 'not', operand: toPushdown(e.operand, source) };
    case 'compare': {
      let field = e.left;
      let value = e.right;
      let op = e.op;
      if (field.kind !== 'field') {
        [field, value] = [e.right, e.left];
        const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
        op = (flip[op] ?? op) as typeof op;
      }
      const v = literalValue(value);
      if (field.kind !== 'field' || v === undefined || v === null) return other;
      if (op === '==') return { kind: 'eq', field: field.name, values: [v] };
      if (op === '!=') return { kind: 'not', operand: { kind: 'eq', field: field.name, values: [v] } };
      if (typeof v === 'boolean') return other;
      return { kind: 'range', field: field.name, op: op as '<', value: v };
    }
    case 'in': {
      if (e.value.kind !== 'field') return other;
      const values = e.list.map(literalValue);
      if (values.some((v) => v === undefined || v === null)) return other;
      const eq: PushdownCondition = { kind: 'eq', field: e.value.name, values: values as (string | number | boolean)[] };
      return e.negated ? { kind: 'not', operand: eq } : eq;
    }
    case 'isnull':
      return e.operand.kind === 'field' ? { kind: 'exists', field: e.operand.name, negated: !e.negated } : other;
    case 'like': {
      if (e.regex || e.value.kind !== 'field') return other;
      const name = e.value.name;
      const likes: PushdownCondition[] = e.patterns.map((pattern) => ({ kind: 'like', field: name, pattern }));
      const any: PushdownCondition = likes.length === 1 ? likes[0] : { kind: 'or', operands: likes };
      return e.negated ? { kind: 'not', operand: any } : any;
    }
    case 'call': {
      const arg = e.args[0];
      if (e.name === 'KQL' && arg?.kind === 'literal' && typeof arg.value === 'string') return { kind: 'kql', query: arg.value };
      return other;
    }
    default:
      return other;
  }
}

function namePattern(p: string): (name: string) => boolean {
  if (!p.includes('*')) return (n) => n === p;
  const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (n) => re.test(n);
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
  const ops: Operator[] = [];
  const commands = query.commands.slice(1);
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const next = commands[i + 1];
    ops.push(buildOperator(c, next, compiler, source, lines, doubles, bounds));
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

type CompilerFactory = (aggregateSlot?: (c: Call) => string) => ExprCompiler;

/** The columns a row has: unknown (null) until a STATS fixes them, as without a mapping Lookout cannot list source columns. */
interface Schema {
  known: Set<string> | null;
}

function updateSchema(schema: Schema, c: Command): void {
  if (c.kind === 'stats' && !c.inline) {
    schema.known = new Set([...c.aggregates.map((a) => a.name), ...c.groups.map((g) => g.name)]);
    return;
  }
  const known = schema.known;
  if (!known) return;
  switch (c.kind) {
    case 'stats':
      for (const a of c.aggregates) known.add(a.name);
      break;
    case 'eval':
      for (const f of c.fields) known.add(f.name);
      break;
    case 'grok':
      for (const col of compileGrok(c.pattern).columns) known.add(col.name);
      break;
    case 'dissect':
      for (const col of compileDissect(c.pattern, c.appendSeparator).columns) known.add(col);
      break;
    case 'rename':
      for (const { from, to } of c.pairs) {
        known.delete(from);
        known.add(to);
      }
      break;
    case 'keep': {
      const tests = c.patterns.map(namePattern);
      schema.known = new Set([...known].filter((k) => tests.some((t) => t(k))));
      break;
    }
    case 'drop': {
      const tests = c.patterns.map(namePattern);
      for (const k of [...known]) if (tests.some((t) => t(k))) known.delete(k);
      break;
    }
    default:
      break;
  }
}

function streaming(op: Operator): Operator {
  return Object.assign(op, { streaming: true });
}

function buildOperator(
  c: Command,
  next: Command | undefined,
  compiler: CompilerFactory,
  source: string,
  lines: LineIndex,
  doubles: Set<string>,
  bounds: { maxGroups?: number; groupCounter?: { max: number } },
): Operator {
  const noop = () => undefined;
  switch (c.kind) {
    case 'where': {
      const f = compiler().compile(c.condition);
      return streaming({ push: (r, emit) => { if (f(r) === true) emit(r); }, finish: noop });
    }
    case 'eval': {
      const cc = compiler();
      const fields = c.fields.map((fd) => {
        const f = cc.compile(fd.expr);
        cc.declare(fd.name);
        if (cc.isDouble(fd.expr)) doubles.add(fd.name);
        else doubles.delete(fd.name);
        return { name: fd.name, f };
      });
      return streaming({
        push: (r, emit) => {
          const out = new Map(r);
          for (const { name, f } of fields) {
            const v = f(out);
            out.delete(name);
            out.set(name, v);
          }
          emit(out);
        },
        finish: noop,
      });
    }
    case 'keep':
    case 'drop': {
      const tests = c.patterns.map(namePattern);
      if (c.kind === 'drop') return streaming({ push: (r, emit) => emit(new Map([...r].filter(([k]) => !tests.some((t) => t(k))))), finish: noop });
      // Each column goes to the pattern that claims it with the highest precedence: an exact name,
      // then a partial wildcard, then `*`; the rightmost among equals. Columns come out in pattern order.
      const rank = c.patterns.map((p) => (!p.includes('*') ? 3 : p === '*' ? 1 : 2));
      return streaming({
        push: (r, emit) => {
          const buckets: [string, Value][][] = c.patterns.map(() => []);
          for (const [k, v] of r) {
            let best = -1;
            tests.forEach((t, i) => { if (t(k) && (best < 0 || rank[i] >= rank[best])) best = i; });
            if (best >= 0) buckets[best].push([k, v]);
          }
          // A column named exactly but missing is null, as a mapped but absent field would be.
          c.patterns.forEach((p, i) => { if (rank[i] === 3 && buckets[i].length === 0) buckets[i].push([p, null]); });
          emit(new Map(buckets.flat()));
        },
        finish: noop,
      });
    }
    case 'rename':
      return streaming({
        push: (r, emit) => {
          let out: Row = r;
          for (const { from, to } of c.pairs) {
            const next: Row = new Map();
            for (const [k, v] of out) {
              if (k === to) continue;
              next.set(k === from ? to : k, v);
            }
            out = next;
          }
          emit(out);
        },
        finish: noop,
      });
    case 'grok':
    case 'dissect': {
      const input = compiler().compile(c.input);
      let apply: (t: string) => Map<string, Value>;
      try {
        apply = c.kind === 'grok' ? compileGrok(c.pattern).apply : compileDissect(c.pattern, c.appendSeparator).apply;
      } catch (err) {
        throw verification(lines, c.patternStart, err instanceof PatternError ? err.message : String(err));
      }
      const columns = [...apply('').keys()];
      return streaming({
        push: (r, emit) => {
          const v = input(r);
          const out = new Map(r);
          const parsed = typeof v === 'string' ? apply(v) : null;
          for (const col of columns) {
            out.delete(col);
            out.set(col, parsed?.get(col) ?? null);
          }
          emit(out);
        },
        finish: noop,
      });
    }
    case 'mv_expand': {
      const col = c.column;
      compiler().compile({ kind: 'field', name: col, start: c.start, end: c.end });
      return streaming({
        push: (r, emit) => {
          const values = toList(r.get(col) ?? null);
          if (values.length <= 1) return emit(r);
          for (const v of values) {
            const out = new Map(r);
            out.set(col, v);
            emit(out);
          }
        },
        finish: noop,
      });
    }
    case 'limit': {
      let n = 0;
      return streaming({
        push: (r, emit) => {
          if (n < c.count) {
            n++;
            emit(r);
          }
        },
        finish: noop,
        full: () => n >= c.count,
      });
    }
    case 'sort': {
      const cc = compiler();
      const keys = c.keys.map((k) => ({ f: cc.compile(k.expr), desc: k.descending, nullsFirst: k.nullsFirst }));
      const keep = next?.kind === 'limit' ? next.count : Infinity;
      let rows: { row: Row; keys: (Scalar | null)[]; seq: number }[] = [];
      let seq = 0;
      const cmp = (a: (typeof rows)[0], b: (typeof rows)[0]): number => {
        for (let i = 0; i < keys.length; i++) {
          const x = a.keys[i];
          const y = b.keys[i];
          if (x === null || y === null) {
            if (x === y) continue;
            return (x === null) === keys[i].nullsFirst ? -1 : 1;
          }
          const d = compareScalars(x, y);
          if (d !== 0) return keys[i].desc ? -d : d;
        }
        return a.seq - b.seq;
      };
      return {
        push: (r) => {
          const ks = keys.map(({ f, desc }) => {
            const list = toList(f(r));
            if (list.length === 0) return null;
            return list.reduce((m, x) => (compareScalars(x, m) * (desc ? -1 : 1) > 0 ? x : m));
          });
          rows.push({ row: r, keys: ks, seq: seq++ });
          if (rows.length > 2 * keep + 1024) rows = rows.sort(cmp).slice(0, keep);
        },
        finish: (emit) => {
          for (const x of rows.sort(cmp).slice(0, keep)) emit(x.row);
          rows = [];
        },
      };
    }
    case 'stats':
      return buildStats(c, compiler, source, lines, doubles, bounds);
    case 'from':
    case 'unsupported':
      throw verification(lines, c.start, `not supported: ${c.kind === 'from' ? 'FROM after the first command' : c.name}`);
  }
}

interface Slot {
  readonly name: string;
  readonly fn: (typeof AGGREGATES)[string];
  readonly args: Evaluator[];
  readonly constants: Value[];
  readonly filter?: Evaluator;
}

function buildStats(
  c: Extract<Command, { kind: 'stats' }>,
  compiler: CompilerFactory,
  source: string,
  lines: LineIndex,
  doubles: Set<string>,
  bounds: { maxGroups?: number; groupCounter?: { max: number } },
): Operator {
  const slots: Slot[] = [];
  const inner = compiler();
  let currentFilter: Evaluator | undefined;
  const slotFor = (call: Call): string => {
    const fn = AGGREGATES[call.name];
    if (call.star && !fn.star) throw verification(lines, call.start, `${call.name}(*) is not allowed`);
    const n = call.star ? 0 : call.args.length;
    if (n < fn.min || n > fn.max) throw verification(lines, call.start, `${call.name} takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} arguments, got ${n}`);
    const constants = call.args.map((a) => (a.kind === 'literal' && !Array.isArray(a.value) ? (a.value as Value) : null));
    if (call.name === 'TOP' && (constants[1] === null || constants[2] === null)) throw verification(lines, call.start, 'TOP needs a constant limit and order');
    for (const a of call.args) {
      if (a.kind === 'call' && AGGREGATES[a.name]) throw verification(lines, a.start, `aggregate ${a.name} inside aggregate ${call.name} is not allowed`);
    }
    const name = `\u0000agg${slots.length}`;
    slots.push({ name, fn, args: call.args.map((a) => inner.compile(a)), constants, filter: currentFilter });
    return name;
  };
  const outer = compiler(slotFor);
  const groups = c.groups.map((g: Field) => {
    if (g.expr.kind === 'call' && AGGREGATES[g.expr.name]) throw verification(lines, g.start, `aggregate ${g.expr.name} cannot be a BY group`);
    return { name: g.name, f: inner.compile(g.expr) };
  });
  const aggregates = c.aggregates.map((a) => {
    currentFilter = a.filter ? inner.compile(a.filter) : undefined;
    const before = slots.length;
    const f = outer.compile(a.expr);
    currentFilter = undefined;
    if (slots.length === before && !c.inline) {
      // `STATS x = field`: no aggregate function; Elasticsearch refuses it.
      throw verification(lines, a.start, `expected an aggregate function in STATS: ${source.slice(a.expr.start, a.expr.end)}`);
    }
    if (outer.isDouble(a.expr)) doubles.add(a.name);
    return { name: a.name, f };
  });
  const maxGroups = bounds.maxGroups ?? Infinity;
  type Group = { keys: Value[]; accs: Accumulator[] };
  const table = new Map<string, Group>();
  const buffered: { row: Row; keys: string[] }[] = [];
  const keyCombos = (row: Row): Value[][] => {
    const single = groups.map((g) => g.f(row));
    if (!single.some((v) => Array.isArray(v))) return [single];
    let combos: Value[][] = [[]];
    for (const v of single) {
      const values = toList(v);
      const choices: Value[] = values.length === 0 ? [null] : [...values];
      combos = combos.flatMap((prefix) => choices.map((v) => [...prefix, v]));
    }
    return combos;
  };
  const groupKey = (values: Value[]) => values.map((v) => (v === null ? 'null' : key(v as Scalar))).join('\u0001');
  const add = (row: Row): string[] => {
    const ks: string[] = [];
    for (const combo of keyCombos(row)) {
      const k = groupKey(combo);
      ks.push(k);
      let g = table.get(k);
      if (!g) {
        if (table.size >= maxGroups) throw new EsqlRuntimeError(`STATS has more than ${maxGroups} groups (the bound set for this run)`);
        g = { keys: combo, accs: slots.map((s) => s.fn.create(s.constants)) };
        table.set(k, g);
        if (bounds.groupCounter) bounds.groupCounter.max = Math.max(bounds.groupCounter.max, table.size);
      }
      slots.forEach((s, i) => {
        if (s.filter && s.filter(row) !== true) return;
        g.accs[i].add(s.args.map((a) => a(row)));
      });
    }
    return ks;
  };
  const resultRow = (g: Group): Row => {
    const slotRow: Row = new Map();
    slots.forEach((s, i) => slotRow.set(s.name, g.accs[i].result()));
    const out: Row = new Map();
    for (const a of aggregates) out.set(a.name, a.f(slotRow));
    groups.forEach((gr, i) => {
      out.delete(gr.name);
      out.set(gr.name, g.keys[i]);
    });
    return out;
  };
  if (c.inline) {
    return {
      push: (r) => {
        buffered.push({ row: r, keys: add(r) });
      },
      finish: (emit) => {
        const results = new Map<string, Row>();
        for (const [k, g] of table) results.set(k, resultRow(g));
        for (const { row, keys } of buffered) {
          for (const k of keys) {
            const out = new Map(row);
            for (const [name, v] of results.get(k) ?? []) {
              out.delete(name);
              out.set(name, v);
            }
            emit(out);
          }
        }
        buffered.length = 0;
      },
    };
  }
  return {
    push: (r) => {
      add(r);
    },
    finish: (emit) => {
      if (table.size === 0 && groups.length === 0) {
        const g = { keys: [], accs: slots.map((s) => s.fn.create(s.constants)) };
        emit(resultRow(g));
        return;
      }
      for (const g of table.values()) emit(resultRow(g));
      table.clear();
    },
  };
}


