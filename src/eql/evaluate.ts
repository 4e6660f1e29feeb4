/**
 * Compiles EQL conditions into predicates over event documents.
 *
 * Truth follows what Elasticsearch does with these conditions, which it runs as query DSL:
 * - A comparison is true when ANY value of a multi-valued field satisfies it, and false when
 *   the field is missing or null (a term query does not match a document without the field).
 * - `not c` is the complement of `c` (a `must_not`), so `not process.name : "x"` and
 *   `process.name != "x"` are true for a document without `process.name`; with an array,
 *   `f != "x"` is false as soon as one value is "x".
 * - `f == null` is true when the field is missing or null; `f != null` when it has a value.
 * - `==`, `!=`, `in` are case-sensitive without wildcards; `:` is case-insensitive with `*` and
 *   `?`; `like` is case-sensitive with wildcards and `like~` not; `in~` is case-insensitive
 *   without wildcards.
 * - A number compares with a number, or with a string holding a number (what a numeric mapping
 *   would have indexed); a string literal compares with the text of the value.
 */
import { EqlVerificationError } from '../errors.js';
import type { Compare, CompareOp, EventQuery, Expr, FieldRef, In, Literal, Match } from './ast.js';
import { compileGetter, type Getter, type Primitive } from './fields.js';
import { LineIndex } from './locations.js';
import { compileWildcard, type StringTest } from './wildcard.js';

export type Predicate = (doc: unknown) => boolean;

export interface CompileOptions {
  /** The query text, for positions in verification errors. */
  readonly source: string;
  /** Field holding the event category. Default `event.category`. */
  readonly categoryField?: string;
}

export class ConditionCompiler {
  private readonly lines: LineIndex;
  private readonly getters = new Map<string, Getter>();

  constructor(private readonly options: CompileOptions) {
    this.lines = new LineIndex(options.source);
  }

  private fail(node: { start: number }, message: string): never {
    const { line, column } = this.lines.lineColumn(node.start);
    throw new EqlVerificationError(message, line, column);
  }

  getter(path: string): Getter {
    let g = this.getters.get(path);
    if (!g) {
      g = compileGetter(path);
      this.getters.set(path, g);
    }
    return g;
  }

  eventQuery(q: EventQuery): Predicate {
    const condition = this.condition(q.condition);
    if (q.category === null) return condition;
    const category = q.category;
    const categories = this.getter(this.options.categoryField ?? 'event.category');
    return (doc) => categories(doc).includes(category) && condition(doc);
  }

  condition(expr: Expr): Predicate {
    switch (expr.kind) {
      case 'and': {
        const parts = expr.operands.map((e) => this.condition(e));
        if (parts.length === 2) {
          const [a, b] = parts;
          return (doc) => a(doc) && b(doc);
        }
        return (doc) => parts.every((p) => p(doc));
      }
      case 'or': {
        const parts = expr.operands.map((e) => this.condition(e));
        return (doc) => parts.some((p) => p(doc));
      }
      case 'not': {
        const inner = this.condition(expr.operand);
        return (doc) => !inner(doc);
      }
      case 'compare':
        return this.compare(expr);
      case 'match':
        return this.match(expr);
      case 'in':
        return this.inList(expr);
      case 'literal':
        if (typeof expr.value === 'boolean') {
          const v = expr.value;
          return () => v;
        }
        if (expr.value === null) return () => false;
        return this.fail(expr, `Condition expected, found a ${typeof expr.value} literal`);
      case 'field': {
        const get = this.getter(expr.path);
        return (doc) => get(doc).some((v) => v === true || v === 'true');
      }
      case 'call':
        return this.fail(expr, `Function ${expr.name}${expr.caseInsensitive ? '~' : ''}() is not supported yet`);
      default:
        return this.fail(expr, 'Arithmetic is not supported yet');
    }
  }

  private fieldOf(expr: Expr, what: string): FieldRef {
    if (expr.kind === 'field') return expr;
    if (expr.kind === 'call') this.fail(expr, `Function ${expr.name}() is not supported yet`);
    if (expr.kind === 'arith' || expr.kind === 'neg') this.fail(expr, 'Arithmetic is not supported yet');
    return this.fail(expr, `${what}: expected a field on one side`);
  }

  private literalOf(expr: Expr, what: string): Literal {
    if (expr.kind === 'literal') return expr;
    if (expr.kind === 'field') this.fail(expr, `${what}: comparing a field with a field is not supported; compare with a value`);
    return this.fail(expr, `${what}: expected a value`);
  }

  private compare(expr: Compare): Predicate {
    let { left, right } = expr;
    let op: CompareOp = expr.op;
    if (left.kind === 'literal' && right.kind === 'literal') {
      const result = constantCompare(left.value, op, right.value);
      return () => result;
    }
    if (left.kind === 'literal' && right.kind !== 'literal') {
      [left, right] = [right, left];
      op = FLIP[op];
    }
    const field = this.fieldOf(left, `Comparison '${expr.op}'`);
    const lit = this.literalOf(right, `Comparison '${expr.op}'`);
    const get = this.getter(field.path);
    const value = lit.value;
    if (value === null) {
      if (op === '==') return (doc) => get(doc).length === 0;
      if (op === '!=') return (doc) => get(doc).length > 0;
      return () => false;
    }
    if (op === '==' || op === '!=') {
      const eq = equalsTo(value);
      if (op === '==') return (doc) => get(doc).some(eq);
      return (doc) => !get(doc).some(eq);
    }
    if (typeof value === 'boolean') this.fail(lit, `Operator '${op}' cannot compare with a boolean`);
    const test = orderTest(op, value);
    return (doc) => get(doc).some(test);
  }

  private match(expr: Match): Predicate {
    const field = this.fieldOf(expr.value, `Operator '${expr.op}'`);
    const get = this.getter(field.path);
    if (expr.op === 'regex') return this.fail(expr, 'regex is not supported yet');
    const insensitive = expr.caseInsensitive;
    const tests: StringTest[] = expr.patterns.map((p) => {
      const lit = this.literalOf(p, `Operator '${expr.op}'`);
      if (typeof lit.value !== 'string') {
        if (expr.op === ':' && typeof lit.value === 'number') {
          const n = String(lit.value);
          return (text) => text === n;
        }
        this.fail(lit, `Operator '${expr.op}' takes string patterns`);
      }
      return compileWildcard(insensitive ? lit.value.toLowerCase() : lit.value);
    });
    return (doc) => {
      const values = get(doc);
      for (const v of values) {
        const text = insensitive ? String(v).toLowerCase() : String(v);
        for (const t of tests) if (t(text)) return true;
      }
      return false;
    };
  }

  private inList(expr: In): Predicate {
    const field = this.fieldOf(expr.value, 'Operator in');
    const get = this.getter(field.path);
    const insensitive = expr.caseInsensitive;
    const strings = new Set<string>();
    const numbers = new Set<number>();
    const booleans = new Set<boolean>();
    let hasNull = false;
    for (const item of expr.list) {
      const lit = this.literalOf(item, 'Operator in');
      if (typeof lit.value === 'string') strings.add(insensitive ? lit.value.toLowerCase() : lit.value);
      else if (typeof lit.value === 'number') numbers.add(lit.value);
      else if (typeof lit.value === 'boolean') booleans.add(lit.value);
      else hasNull = true;
    }
    const member = (v: Primitive): boolean => {
      if (typeof v === 'number') return numbers.has(v) || strings.has(String(v));
      if (typeof v === 'boolean') return booleans.has(v) || strings.has(String(v));
      if (strings.has(insensitive ? v.toLowerCase() : v)) return true;
      if (numbers.size > 0 && v.trim() !== '') {
        const n = Number(v);
        return Number.isFinite(n) && numbers.has(n);
      }
      return false;
    };
    const positive: Predicate = (doc) => {
      const values = get(doc);
      if (values.length === 0) return hasNull;
      return values.some(member);
    };
    return expr.negated ? (doc) => !positive(doc) : positive;
  }
}

const FLIP: Readonly<Record<CompareOp, CompareOp>> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function toNumber(v: Primitive): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function equalsTo(lit: string | number | boolean): (v: Primitive) => boolean {
  if (typeof lit === 'string') return (v) => (typeof v === 'string' ? v === lit : String(v) === lit);
  if (typeof lit === 'number') return (v) => toNumber(v) === lit;
  const text = String(lit);
  return (v) => v === lit || v === text;
}

function orderTest(op: CompareOp, lit: string | number): (v: Primitive) => boolean {
  const cmp = (c: number): boolean => (op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0);
  if (typeof lit === 'number') {
    return (v) => {
      const n = toNumber(v);
      return n !== undefined && cmp(n - lit);
    };
  }
  return (v) => {
    if (typeof v !== 'string') return false;
    return cmp(v < lit ? -1 : v > lit ? 1 : 0);
  };
}

function constantCompare(a: Literal['value'], op: CompareOp, b: Literal['value']): boolean {
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (a === null || b === null || typeof a === 'boolean' || typeof b === 'boolean') return false;
  if (typeof a !== typeof b) return false;
  const c = a < b ? -1 : a > b ? 1 : 0;
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}
