/**
 * From EQL text to what the engine runs: a parsed, verified and compiled query, plus the list of
 * fields it reads (for `_source` filtering). Features the engine does not run yet fail here with
 * their position, so a rule is rejected at load time with a reason rather than at run time.
 */
import { EqlVerificationError } from '../errors.js';
import type { EventQuery, Expr, FieldRef, Query, SequenceStage } from './ast.js';
import { ConditionCompiler, type Predicate } from './evaluate.js';
import { compileGetter, type Getter } from './fields.js';
import { LineIndex } from './locations.js';
import { parseEql } from './parser.js';

export interface CompiledStage {
  readonly query: EventQuery;
  readonly matches: Predicate;
  /** Join key fields: the sequence's `by` keys, then the stage's own. */
  readonly keyFields: readonly FieldRef[];
  readonly keys: readonly Getter[];
}

export interface CompiledSequence {
  readonly kind: 'sequence';
  readonly ast: Query;
  readonly stages: readonly CompiledStage[];
  readonly until: CompiledStage | null;
  readonly maxspanMs: number | null;
  readonly fields: readonly string[];
}

export interface CompiledEventQuery {
  readonly kind: 'event';
  readonly ast: Query;
  readonly stage: CompiledStage;
  readonly fields: readonly string[];
}

export type CompiledEql = CompiledSequence | CompiledEventQuery;

export interface EqlCompileOptions {
  readonly categoryField?: string;
}

export function compileEql(source: string, options: EqlCompileOptions = {}): CompiledEql {
  const ast = parseEql(source);
  const lines = new LineIndex(source);
  const fail = (node: { start: number }, message: string): never => {
    const { line, column } = lines.lineColumn(node.start);
    throw new EqlVerificationError(message, line, column);
  };
  const compiler = new ConditionCompiler({ source, categoryField: options.categoryField });
  const categoryField = options.categoryField ?? 'event.category';
  const fields = new Set<string>([categoryField]);

  const stage = (s: SequenceStage, seqBy: readonly FieldRef[]): CompiledStage => {
    if (s.missing) fail(s, 'Missing events (![...]) are not supported yet');
    collectFields(s.query.condition, fields);
    const keyFields = [...seqBy, ...s.by];
    for (const k of keyFields) fields.add(k.path);
    return { query: s.query, matches: compiler.eventQuery(s.query), keyFields, keys: keyFields.map((k) => compileGetter(k.path)) };
  };

  if (ast.kind === 'sample') return fail(ast, 'sample is not supported yet');
  if (ast.pipes.length > 0) fail(ast.pipes[0], `Pipe '${ast.pipes[0].name}' is not supported yet`);
  if (ast.kind === 'query') {
    const s = stage({ query: ast.query, by: [], runs: 1, missing: false, start: ast.start, end: ast.end }, []);
    return { kind: 'event', ast, stage: s, fields: [...fields] };
  }
  const stages: CompiledStage[] = [];
  for (const s of ast.stages) {
    const compiled = stage(s, ast.by);
    for (let i = 0; i < s.runs; i++) stages.push(compiled);
  }
  const keyCount = stages[0].keyFields.length;
  for (const [i, s] of ast.stages.entries()) {
    if (ast.by.length + s.by.length !== keyCount) {
      fail(s, `Stage ${i + 1} has ${ast.by.length + s.by.length} join keys but stage 1 has ${keyCount}; every stage needs the same number`);
    }
  }
  const until = ast.until ? stage(ast.until, ast.by) : null;
  return { kind: 'sequence', ast, stages, until, maxspanMs: ast.maxspanMs, fields: [...fields] };
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
