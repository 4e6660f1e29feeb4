/**
 * From EQL text to what the engine runs: a parsed, verified and compiled query, plus the list of
 * fields it reads (for `_source` filtering). Features the engine does not run yet fail here with
 * their position, so a rule is rejected at load time with a reason rather than at run time.
 */
import { SampleMatcher } from '../engine/sample.js';
import { SequenceMatcher } from '../engine/sequence.js';
import { EqlVerificationError } from '../errors.js';
import type { AlertStyle, CompiledQuery, EventGuard, StreamedQuery, StreamMatcher } from '../rules/language.js';
import type { EventQuery, Expr, FieldRef, Query, SequenceStage } from './ast.js';
import { ConditionCompiler, type Predicate } from './evaluate.js';
import { compileGetter, type Getter } from './fields.js';
import { LineIndex } from './locations.js';
import { parseEql } from './parser.js';
import { eqlPushdown } from './pushdown.js';
import { isTypedComparison, normalisesKeys, typedGetter, type FieldTypeMap } from './types.js';

export interface CompiledStage {
  readonly query: EventQuery;
  /** `![...]`: the sequence is rejected when such an event is found (see engine/sequence.ts). */
  readonly missing: boolean;
  readonly matches: Predicate;
  /** The stage's event category (null for `any`), and its condition without the category test. */
  readonly category: string | null;
  readonly condition: Predicate;
  /** Join key fields: the sequence's `by` keys, then the stage's own. */
  readonly keyFields: readonly FieldRef[];
  readonly keys: readonly Getter[];
  /** What `matches` is the conjunction of: the category test, then each top-level conjunct of the condition, each with its key. */
  readonly guards: readonly EventGuard[];
}

/** `| head N` keeps the first N results, `| tail N` the last N (still in ascending order). */
export interface CompiledPipe {
  readonly name: 'head' | 'tail';
  readonly count: number;
}

/** What every EQL query is to the rest of Lookout (rules/language.ts). */
interface EqlQuery extends StreamedQuery {
  readonly language: 'eql';
  readonly ast: Query;
  readonly pipes: readonly CompiledPipe[];
  readonly categoryField: string;
}

export interface CompiledSequence extends EqlQuery {
  readonly kind: 'sequence';
  readonly ast: Query;
  readonly stages: readonly CompiledStage[];
  readonly until: CompiledStage | null;
  readonly maxspanMs: number | null;
  readonly pipes: readonly CompiledPipe[];
  readonly fields: readonly string[];
  readonly categoryField: string;
}

export interface CompiledSample extends EqlQuery {
  readonly kind: 'sample';
  readonly ast: Query;
  readonly stages: readonly CompiledStage[];
  readonly pipes: readonly CompiledPipe[];
  readonly fields: readonly string[];
  readonly categoryField: string;
}

export interface CompiledEventQuery extends EqlQuery {
  readonly kind: 'event';
  readonly ast: Query;
  readonly stage: CompiledStage;
  readonly pipes: readonly CompiledPipe[];
  readonly fields: readonly string[];
  readonly categoryField: string;
}

export type CompiledEql = CompiledSequence | CompiledSample | CompiledEventQuery;

/** The compiled query as EQL (null for another language): for EQL-only work such as `--raw` and shared sequences. */
export function asEql(q: CompiledQuery): CompiledEql | null {
  return q.language === 'eql' ? (q as CompiledEql) : null;
}

const EVENT_STYLE: AlertStyle = { category: 'Event Query Rule', noun: 'event', grouped: false };
const SEQUENCE_STYLE: AlertStyle = { category: 'Event Correlation Rule', noun: 'sequence', grouped: true };

/** A single event query matches each event its stage accepts. */
function eventMatcher(stage: CompiledStage): StreamMatcher {
  return {
    openPartials: 0,
    push(e, emit) {
      if (stage.matches(e.source)) emit({ events: [e], joinKeys: [] });
    },
  };
}

/** The seam members every EQL query shares (rules/language.ts); `self` gives the query they belong to. */
function seam(source: string, options: EqlCompileOptions, fields: readonly string[], stages: readonly CompiledStage[], self: () => CompiledEql) {
  const categoryField = options.categoryField ?? 'event.category';
  const categories = acceptedStages(stages);
  return {
    language: 'eql' as const,
    plan: 'streamed' as const,
    readBackMs: 0,
    needsIndexNames: false,
    namedFields: new Map([...new Set(fields)].map((f) => [f, [f]] as const)),
    routing: categories === null ? null : { field: categoryField, categories },
    guards: [...new Set(stages)].map((s) => s.guards),
    pushdown: (pd: Parameters<StreamedQuery['pushdown']>[0]) => eqlPushdown(pd, self()),
    withFieldTypes: (types: FieldTypeMap): CompiledQuery => {
      const q = self();
      const keyFields = new Set((q.kind === 'event' ? [] : q.stages).flatMap((s) => s.keyFields.map((k) => k.path)));
      const matters = fields.some((f) => {
        const t = types.get(f);
        return t !== undefined && (isTypedComparison(t.type) || t.nullValue !== undefined || (keyFields.has(f) && normalisesKeys(t.type)));
      });
      return matters ? compileEql(source, { ...options, fieldTypes: types }) : self();
    },
  };
}

function acceptedStages(stages: readonly CompiledStage[]): ReadonlySet<string> | null {
  const out = new Set<string>();
  for (const s of stages) {
    if (s.category === null) return null;
    out.add(s.category);
  }
  return out;
}

/**
 * The event categories an event must have for any stage of the query to match it (null: any
 * event may match). Used to route each event only to the rules that can use it.
 */
export function acceptedCategories(q: CompiledEql): ReadonlySet<string> | null {
  return acceptedStages(q.kind === 'event' ? [q.stage] : q.kind === 'sample' ? q.stages : [...q.stages, ...(q.until ? [q.until] : [])]);
}

export interface EqlCompileOptions {
  readonly categoryField?: string;
  /** Field types from the mapping: typed comparisons and join keys (eql/types.ts). */
  readonly fieldTypes?: FieldTypeMap;
}

export function compileEql(source: string, options: EqlCompileOptions = {}): CompiledEql {
  const ast = parseEql(source);
  const lines = new LineIndex(source);
  const fail = (node: { start: number }, message: string): never => {
    const { line, column } = lines.lineColumn(node.start);
    throw new EqlVerificationError(message, line, column);
  };
  const compiler = new ConditionCompiler({ source, categoryField: options.categoryField, fieldTypes: options.fieldTypes });
  const categoryField = options.categoryField ?? 'event.category';
  const fields = new Set<string>([categoryField]);

  const stage = (s: SequenceStage, seqBy: readonly FieldRef[]): CompiledStage => {
    collectFields(s.query.condition, fields);
    const keyFields = [...seqBy, ...s.by];
    for (const k of keyFields) fields.add(k.path);
    const condition = compiler.condition(s.query.condition);
    const isCategory = compiler.categoryTest(s.query);
    const matches: Predicate = isCategory ? (doc) => isCategory(doc) && condition(doc) : condition;
    const guards: EventGuard[] = isCategory ? [{ key: JSON.stringify(['category', categoryField, s.query.category]), test: isCategory, category: { field: categoryField, value: s.query.category! } }] : [];
    for (const c of conjuncts(s.query.condition)) guards.push({ key: guardKey(c, options.fieldTypes), test: compiler.condition(c), literals: compiler.literalSet(c) });
    return {
      query: s.query, missing: s.missing, matches, category: s.query.category, condition, keyFields, guards,
      keys: keyFields.map((k) => typedGetter(k.path, compileGetter(k.path), options.fieldTypes?.get(k.path), true)),
    };
  };
  const sameKeyCount = (stages: readonly SequenceStage[], seqBy: readonly FieldRef[]) => {
    const keyCount = seqBy.length + stages[0].by.length;
    for (const [i, s] of stages.entries()) {
      if (seqBy.length + s.by.length !== keyCount) {
        fail(s, `Stage ${i + 1} has ${seqBy.length + s.by.length} join keys but stage 1 has ${keyCount}; every stage needs the same number`);
      }
    }
  };
  const pipes: CompiledPipe[] = ast.pipes.map((p) => {
    if (p.name !== 'head' && p.name !== 'tail') return fail(p, `Unknown pipe '${p.name}'; expected head or tail`);
    const arg = p.args[0];
    const count = arg?.kind === 'literal' ? arg.value : undefined;
    if (p.args.length !== 1 || typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      return fail(p, `Pipe '${p.name}' takes one positive whole number`);
    }
    return { name: p.name, count };
  });

  if (ast.kind === 'query') {
    const s = stage({ query: ast.query, by: [], runs: 1, missing: false, start: ast.start, end: ast.end }, []);
    const q: CompiledEventQuery = {
      kind: 'event', ast, stage: s, pipes, fields: [...fields], categoryField,
      ...seam(source, options, [...fields], [s], () => q), overlapMs: 0, alert: EVENT_STYLE, matcher: () => eventMatcher(s),
    };
    return q;
  }
  if (ast.kind === 'sample') {
    if (ast.stages.length > 5) fail(ast.stages[5], 'sample takes at most 5 filters');
    for (const s of ast.stages) if (s.runs > 1) fail(s, 'runs is not allowed in sample');
    sameKeyCount(ast.stages, ast.by);
    if (ast.by.length + ast.stages[0].by.length === 0) fail(ast, 'sample needs at least one join key (sample by ...)');
    const stages = ast.stages.map((s) => stage(s, ast.by));
    const q: CompiledSample = {
      kind: 'sample', ast, stages, pipes, fields: [...fields], categoryField,
      ...seam(source, options, [...fields], stages, () => q), overlapMs: 0, alert: EVENT_STYLE, matcher: (o) => new SampleMatcher(q, o.maxSamplesPerKey),
    };
    return q;
  }
  const stages: CompiledStage[] = [];
  for (const s of ast.stages) {
    const compiled = stage(s, ast.by);
    for (let i = 0; i < s.runs; i++) stages.push(compiled);
  }
  sameKeyCount(ast.stages, ast.by);
  if (ast.stages.some((s) => s.missing)) {
    if (ast.maxspanMs === null) fail(ast.stages.find((s) => s.missing)!, 'Missing events (![...]) need a maxspan');
    if (ast.stages.every((s) => s.missing)) fail(ast, 'A sequence needs at least one stage that is not a missing event');
  }
  const until = ast.until ? stage(ast.until, ast.by) : null;
  const q: CompiledSequence = {
    kind: 'sequence', ast, stages, until, maxspanMs: ast.maxspanMs, pipes, fields: [...fields], categoryField,
    ...seam(source, options, [...fields], [...stages, ...(until ? [until] : [])], () => q),
    overlapMs: ast.maxspanMs ?? 0, alert: SEQUENCE_STYLE, matcher: (o) => new SequenceMatcher(q, o.sharedStart),
  };
  return q;
}

/** The operands of a condition's top-level `and` (nested ones flattened); the condition itself otherwise. */
function conjuncts(expr: Expr): Expr[] {
  return expr.kind === 'and' ? expr.operands.flatMap(conjuncts) : [expr];
}

/**
 * What a compiled condition depends on: its syntax without positions, and the mapping types of
 * the fields it reads (typed comparisons, null_value). Equal keys compile to the same test.
 */
function guardKey(expr: Expr, types: FieldTypeMap | undefined): string {
  const fields = new Set<string>();
  collectFields(expr, fields);
  const typed = types ? [...fields].sort().map((f) => [f, types.get(f) ?? null]) : [];
  // Numbers as objects: JSON would write Infinity and NaN as null, the null literal.
  return JSON.stringify([expr, typed], (k, v) => (k === 'start' || k === 'end' ? undefined : typeof v === 'number' ? { number: Object.is(v, -0) ? '-0' : String(v) } : v));
}

function collectFields(expr: Expr, out: Set<string>): void {
  switch (expr.kind) {
    case 'field':
      out.add(expr.path);
      return;
    case 'and':
    case 'or':
      expr.operands.forEach((e) => collectFields(e, out));
      return;
    case 'not':
    case 'neg':
      collectFields(expr.operand, out);
      return;
    case 'compare':
    case 'arith':
      collectFields(expr.left, out);
      collectFields(expr.right, out);
      return;
    case 'match':
      collectFields(expr.value, out);
      expr.patterns.forEach((e) => collectFields(e, out));
      return;
    case 'in':
      collectFields(expr.value, out);
      expr.list.forEach((e) => collectFields(e, out));
      return;
    case 'call':
      expr.args.forEach((e) => collectFields(e, out));
      return;
    case 'literal':
      return;
  }
}
