/**
 * Compiles EQL conditions into predicates over event documents.
 *
 * Truth follows what Elasticsearch does with these conditions, which it runs as query DSL:
 * - A comparison is true when ANY value of a multi-valued field satisfies it, and false when
 *   the field is missing or null (a term query does not match a document without the field).
 * - `not c` is the complement of `c` (a `must_not`), so `not process.name : "x"` and
 *   `process.name != "x"` are true for a document without `process.name`; with an array,
 *   `f != "x"` is false as soon as one value is "x".
 * - Two fields are not compared with each other (Elasticsearch refuses it), except two optional
 *   ones (`?x == ?y`), which Elasticsearch allows when unmapped: two nulls are equal.
 * - `f == null` is true when the field is missing or null; `f != null` when it has a value. The
 *   same holds for any expression: `indexOf(f, "x") != null`, `null == (code > -1)` test whether
 *   the function, arithmetic or comparison gives null (a comparison with a null operand is null).
 * - `==`, `!=`, `in` are case-sensitive without wildcards; `:` is case-insensitive with `*` and
 *   `?`; `like` is case-sensitive with wildcards and `like~` not; `in~` is case-insensitive
 *   without wildcards.
 * - A number compares with a number, or with a string holding a number (what a numeric mapping
 *   would have indexed); a string literal compares with the text of the value.
 * - Functions and arithmetic (which Elasticsearch runs as scripts) give null for a null
 *   argument; a predicate over a null value is false, and `not` still complements it (the script
 *   query sits in a `must_not`). A function applied to a multi-valued field is applied to each
 *   value (each combination, for several such arguments) and the predicate holds if any result
 *   satisfies it.
 */
import { EqlVerificationError } from '../errors.js';
import type { LiteralSet } from '../rules/language.js';
import type { Call, Compare, CompareOp, EventQuery, Expr, In, Literal, Match } from './ast.js';
import { compileGetter, compileSome, type Getter, type Primitive, type Some } from './fields.js';
import { FUNCTIONS, type Value } from './functions.js';
import { LineIndex } from './locations.js';
import { compileRegex, RegexSyntaxError } from './regex.js';
import { comparatorFor, isTypedComparison, literalFits, typedGetter, type FieldTypeMap, type TypedCompare } from './types.js';
import { compileWildcard, type StringTest } from './wildcard.js';

/** Values of an expression for one event; empty means null (a missing field, a null result). */
export type ValueFn = (doc: unknown) => readonly Primitive[];

/** Bound on the argument combinations a function of multi-valued fields is applied to. */
const MAX_COMBINATIONS = 256;

export type Predicate = (doc: unknown) => boolean;

export interface CompileOptions {
  /** The query text, for positions in verification errors. */
  readonly source: string;
  /** Field holding the event category. Default `event.category`. */
  readonly categoryField?: string;
  /** Field types from the mapping (eql/types.ts): comparisons by type. Default: by the JSON value. */
  readonly fieldTypes?: FieldTypeMap;
}

export class ConditionCompiler {
  private readonly lines: LineIndex;
  private readonly getters = new Map<string, Getter>();
  private readonly somes = new Map<string, Some>();

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
      g = typedGetter(path, compileGetter(path), this.options.fieldTypes?.get(path), false);
      this.getters.set(path, g);
    }
    return g;
  }

  /** `some(path)(doc, test)`: whether a value of the field passes the test (see fields.ts). */
  some(path: string): Some {
    let s = this.somes.get(path);
    if (!s) {
      if (this.options.fieldTypes?.get(path)?.nullValue !== undefined) {
        // null_value: through the getter, which knows an explicit null from a missing field.
        const get = this.getter(path);
        s = (doc, test) => get(doc).some(test);
      } else {
        s = compileSome(path, this.getter(path));
      }
      this.somes.set(path, s);
    }
    return s;
  }

  /** The event query's category test; null for `any`. */
  categoryTest(q: EventQuery): Predicate | null {
    if (q.category === null) return null;
    const category = q.category;
    const some = this.some(this.options.categoryField ?? 'event.category');
    const is = (v: Primitive) => v === category;
    return (doc) => some(doc, is);
  }

  /**
   * The literals a condition tests a field against, when it is a membership test the router may
   * decide from one lookup (rules/language.ts `LiteralSet`): `==` with a string, `in`/`in~` of
   * strings, `:`, `like`, `like~` with string patterns without wildcards; on a field compared by
   * its JSON values (no date, ip or version type, no null_value), so that on string values the
   * lookup and the compiled condition agree (for `==`: `v === lit`; `in`: the set; `:`: equality
   * of the lower-cased text). Undefined for anything else.
   */
  literalSet(expr: Expr): LiteralSet | undefined {
    const plain = (path: string) => {
      const ft = this.options.fieldTypes?.get(path);
      return ft === undefined || (ft.nullValue === undefined && !isTypedComparison(ft.type));
    };
    const strings = (items: readonly Expr[]): items is readonly (Literal & { value: string })[] =>
      items.length > 0 && items.every((i) => i.kind === 'literal' && typeof i.value === 'string');
    if (expr.kind === 'compare' && expr.op === '==') {
      const [field, lit] = expr.left.kind === 'literal' ? [expr.right, expr.left] : [expr.left, expr.right];
      if (field.kind !== 'field' || !plain(field.path) || !strings([lit])) return undefined;
      return { field: field.path, values: [(lit as Literal & { value: string }).value], caseInsensitive: false };
    }
    let list: readonly Expr[];
    if (expr.kind === 'in' && !expr.negated) list = expr.list;
    else if (expr.kind === 'match' && expr.op !== 'regex') list = expr.patterns;
    else return undefined;
    if (expr.value.kind !== 'field' || !plain(expr.value.path) || !strings(list)) return undefined;
    if (expr.kind === 'match' && list.some((l) => hasWildcardChar(l.value))) return undefined;
    const ci = expr.caseInsensitive;
    return { field: expr.value.path, values: list.map((l) => (ci ? l.value.toLowerCase() : l.value)), caseInsensitive: ci };
  }

  condition(expr: Expr): Predicate {
    switch (expr.kind) {
      case 'and': {
        const parts = expr.operands.map((e) => this.condition(e));
        if (parts.length === 2) {
          const [a, b] = parts;
          return (doc) => a(doc) && b(doc);
        }
        return (doc) => {
          for (const p of parts) if (!p(doc)) return false;
          return true;
        };
      }
      case 'or': {
        const parts = expr.operands.map((e) => this.condition(e));
        if (parts.length === 2) {
          const [a, b] = parts;
          return (doc) => a(doc) || b(doc);
        }
        return (doc) => {
          for (const p of parts) if (p(doc)) return true;
          return false;
        };
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
        const some = this.some(expr.path);
        const isTrue = (v: Primitive) => v === true || v === 'true';
        return (doc) => some(doc, isTrue);
      }
      case 'call': {
        const values = this.value(expr);
        return (doc) => values(doc).some((v) => v === true);
      }
      default:
        return this.fail(expr, 'Condition expected, found an arithmetic expression');
    }
  }

  /** Compiles an expression to the values it takes on an event. */
  value(expr: Expr): ValueFn {
    switch (expr.kind) {
      case 'literal': {
        const v = expr.value;
        const out: Primitive[] = v === null ? [] : [v];
        return () => out;
      }
      case 'field':
        return this.getter(expr.path);
      case 'call':
        return this.call(expr);
      case 'arith': {
        const op = ({ '+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide', '%': 'modulo' } as const)[expr.op];
        return this.apply(this.arithmetic(op, [expr.left, expr.right]), [this.value(expr.left), this.value(expr.right)], false);
      }
      case 'neg': {
        const inner = this.value(expr.operand);
        return (doc) => inner(doc).filter((v): v is number => typeof v === 'number').map((v) => -v);
      }
      case 'compare': {
        // A comparison with a null operand is null (`null == (x > 1)` is true when x is missing);
        // `== null` and `!= null` themselves are never null.
        const cond = this.condition(expr);
        if (isNullLiteral(expr.left) || isNullLiteral(expr.right)) return (doc) => [cond(doc)];
        const l = this.value(expr.left);
        const r = this.value(expr.right);
        return (doc) => (l(doc).length === 0 || r(doc).length === 0 ? [] : [cond(doc)]);
      }
      default: {
        const cond = this.condition(expr);
        return (doc) => [cond(doc)];
      }
    }
  }

  private call(expr: Call): ValueFn {
    const spec = FUNCTIONS.get(expr.name.toLowerCase());
    if (!spec) return this.fail(expr, `Unknown function ${expr.name}()`);
    if (expr.caseInsensitive && !spec.caseAware) this.fail(expr, `Function ${expr.name}() has no case-insensitive (~) form`);
    if (expr.args.length < spec.minArgs || expr.args.length > spec.maxArgs) {
      const expected = spec.maxArgs === Number.POSITIVE_INFINITY ? `at least ${spec.minArgs}` : spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
      this.fail(expr, `Function ${expr.name}() takes ${expected} argument(s), found ${expr.args.length}`);
    }
    const fn = spec.name === 'divide' ? this.arithmetic('divide', expr.args) : spec.fn;
    return this.apply(fn, expr.args.map((a) => this.value(a)), expr.caseInsensitive);
  }

  /** Division truncates unless an operand is written as a double (`10.0 / 4` is 2.5). */
  private arithmetic(op: 'add' | 'subtract' | 'multiply' | 'divide' | 'modulo', operands: readonly Expr[]): (args: readonly Value[], ci: boolean) => Value {
    const fn = FUNCTIONS.get(op)!.fn;
    if (op !== 'divide' || !operands.some((e) => e.kind === 'literal' && e.float)) return fn;
    return ([a, b]) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null);
  }

  private apply(fn: (args: readonly Value[], ci: boolean) => Value, args: readonly ValueFn[], ci: boolean): ValueFn {
    return (doc) => {
      let combos: Value[][] = [[]];
      for (const a of args) {
        const vs: readonly Value[] = a(doc);
        const options = vs.length === 0 ? [null] : vs;
        if (options.length === 1) {
          for (const c of combos) c.push(options[0]);
        } else {
          const next: Value[][] = [];
          for (const c of combos) for (const v of options) if (next.length < MAX_COMBINATIONS) next.push([...c, v]);
          combos = next;
        }
      }
      const out: Primitive[] = [];
      for (const c of combos) {
        const r = fn(c, ci);
        if (r !== null && !(typeof r === 'number' && !Number.isFinite(r))) out.push(r);
      }
      return out;
    };
  }

  private hasField(expr: Expr): boolean {
    switch (expr.kind) {
      case 'field':
        return true;
      case 'literal':
        return false;
      case 'call':
        return expr.args.some((a) => this.hasField(a));
      case 'arith':
      case 'compare':
        return this.hasField(expr.left) || this.hasField(expr.right);
      case 'neg':
      case 'not':
        return this.hasField(expr.operand);
      case 'and':
      case 'or':
        return expr.operands.some((a) => this.hasField(a));
      case 'match':
        return this.hasField(expr.value);
      case 'in':
        return this.hasField(expr.value);
    }
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
    if (right.kind === 'literal' && right.value === null && left.kind !== 'field') return this.nullTest(left, op);
    if (left.kind === 'field' && right.kind === 'field' && left.optional && right.optional) return this.optionalFields(left.path, op, right.path);
    if (left.kind !== 'field' || right.kind !== 'literal') return this.generalCompare(expr, left, op, right);
    const field = left;
    const lit = right;
    const some = this.some(field.path);
    const value = lit.value;
    if (value === null) {
      if (op === '==') return (doc) => !some(doc, anyValue);
      if (op === '!=') return (doc) => some(doc, anyValue);
      return () => false;
    }
    const typed = this.typedCompare(field.path, value);
    if (typed) {
      const test = (v: Primitive): boolean => {
        const c = typed(v, value);
        if (c === undefined) return false;
        return op === '==' || op === '!=' ? c === 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
      };
      if (op === '!=') return (doc) => !some(doc, test);
      return (doc) => some(doc, test);
    }
    if (op === '==' || op === '!=') {
      const eq = equalsTo(value);
      if (op === '==') return (doc) => some(doc, eq);
      return (doc) => !some(doc, eq);
    }
    if (typeof value === 'boolean') this.fail(lit, `Operator '${op}' cannot compare with a boolean`);
    const test = orderTest(op, value);
    return (doc) => some(doc, test);
  }

  /**
   * The field's type comparison (date, ip, version) when the mapping gives one and the literal is
   * a value of that type; otherwise undefined and the JSON values are compared.
   */
  private typedCompare(path: string, lit: Primitive): TypedCompare | undefined {
    const ft = this.options.fieldTypes?.get(path);
    if (!ft || !isTypedComparison(ft.type) || !literalFits(ft, lit)) return undefined;
    return comparatorFor(ft);
  }

  /**
   * `expr == null` / `expr != null` on any expression (a function, arithmetic, a comparison): whether
   * its value is null. Ordering against null is null, so false.
   */
  private nullTest(operand: Expr, op: CompareOp): Predicate {
    const values = this.value(operand);
    if (op === '==') return (doc) => values(doc).length === 0;
    if (op === '!=') return (doc) => values(doc).length > 0;
    return () => false;
  }

  /**
   * `ip : "10.0.0.1"`, `@timestamp : "2017-08-30"`: `:` without wildcards on a date, ip or version
   * field is an equality of that type (a term query on the field), as `==` is.
   */
  private typedMatch(expr: Match): Predicate | undefined {
    if (expr.op !== ':' || expr.value.kind !== 'field') return undefined;
    const path = expr.value.path;
    const lits: Primitive[] = [];
    for (const p of expr.patterns) {
      if (p.kind !== 'literal' || p.value === null || (typeof p.value === 'string' && hasWildcardChar(p.value))) return undefined;
      if (this.typedCompare(path, p.value) === undefined) return undefined;
      lits.push(p.value);
    }
    const cmp = this.typedCompare(path, lits[0])!;
    const some = this.some(path);
    const test = (v: Primitive): boolean => lits.some((l) => cmp(v, l) === 0);
    return (doc) => some(doc, test);
  }

  /**
   * `?x == ?y`: Elasticsearch allows a comparison of two optional fields when they are not
   * mapped, since both fold to null (`null == null` is true); with either one mapped it refuses a
   * field-to-field comparison, which Lookout cannot tell here. Evaluated on values: two nulls are
   * equal, a null and a value are not, two values compare as values; ordering with null is false.
   */
  private optionalFields(a: string, op: CompareOp, b: string): Predicate {
    const x = this.getter(a);
    const y = this.getter(b);
    return (doc) => {
      const xs = x(doc);
      const ys = y(doc);
      if (xs.length === 0 || ys.length === 0) {
        const bothNull = xs.length === 0 && ys.length === 0;
        return op === '==' ? bothNull : op === '!=' ? !bothNull : false;
      }
      if (op === '!=') return !xs.some((v) => ys.some((w) => equalsTo(w)(v)));
      for (const v of xs) for (const w of ys) if (compareValues(v, op, w)) return true;
      return false;
    };
  }

  /** Comparisons that involve functions or arithmetic: evaluated on values, null is false. */
  private generalCompare(expr: Compare, left: Expr, op: CompareOp, right: Expr): Predicate {
    if (this.hasField(left) && this.hasField(right)) {
      this.fail(expr, `Comparison '${expr.op}': comparing a field with a field is not supported; compare with a value`);
    }
    const a = this.value(left);
    const b = this.value(right);
    return (doc) => {
      const xs = a(doc);
      const ys = b(doc);
      if (xs.length === 0 || ys.length === 0) return false;
      if (op === '!=') return !xs.some((x) => ys.some((y) => equalsTo(y)(x)));
      for (const x of xs) for (const y of ys) if (compareValues(x, op, y)) return true;
      return false;
    };
  }

  private match(expr: Match): Predicate {
    const typed = this.typedMatch(expr);
    if (typed) return typed;
    const get = this.value(expr.value);
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
      if (expr.op === 'regex') {
        try {
          return compileRegex(lit.value, insensitive);
        } catch (err) {
          if (err instanceof RegexSyntaxError) this.fail(lit, err.message);
          throw err;
        }
      }
      return compileWildcard(insensitive ? lit.value.toLowerCase() : lit.value);
    });
    if (expr.op === 'regex') {
      const test = (v: Primitive): boolean => {
        const text = String(v);
        for (const t of tests) if (t(text)) return true;
        return false;
      };
      if (expr.value.kind === 'field') {
        const some = this.some(expr.value.path);
        return (doc) => some(doc, test);
      }
      return (doc) => get(doc).some(test);
    }
    if (expr.value.kind === 'field') {
      const some = this.some(expr.value.path);
      const test = (v: Primitive): boolean => {
        const text = insensitive ? String(v).toLowerCase() : String(v);
        for (const t of tests) if (t(text)) return true;
        return false;
      };
      return (doc) => some(doc, test);
    }
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
    const get = this.value(expr.value);
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
    // On a date, ip or version field, membership is equality of that type (every item must be one).
    const path = expr.value.kind === 'field' ? expr.value.path : undefined;
    const items = expr.list.map((i) => (i as Literal).value).filter((v): v is Primitive => v !== null);
    const typed = path !== undefined && items.length > 0 && items.every((l) => this.typedCompare(path, l) !== undefined)
      ? this.typedCompare(path, items[0])
      : undefined;
    const member = typed ? (v: Primitive): boolean => items.some((l) => typed(v, l) === 0) : (v: Primitive): boolean => {
      if (typeof v === 'number') return numbers.has(v) || strings.has(String(v));
      if (typeof v === 'boolean') return booleans.has(v) || strings.has(String(v));
      if (strings.has(insensitive ? v.toLowerCase() : v)) return true;
      if (numbers.size > 0 && v.trim() !== '') {
        const n = Number(v);
        return Number.isFinite(n) && numbers.has(n);
      }
      return false;
    };
    const some = expr.value.kind === 'field' && !hasNull ? this.some(expr.value.path) : null;
    const positive: Predicate = some ? (doc) => some(doc, member) : (doc) => {
      const values = get(doc);
      if (values.length === 0) return hasNull;
      return values.some(member);
    };
    return expr.negated ? (doc) => !positive(doc) : positive;
  }
}

const anyValue = (): boolean => true;

function hasWildcardChar(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

function isNullLiteral(e: Expr): boolean {
  return e.kind === 'literal' && e.value === null;
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

function compareValues(x: Primitive, op: CompareOp, y: Primitive): boolean {
  if (op === '==') return equalsTo(y)(x);
  if (typeof y === 'boolean' || typeof x === 'boolean') return false;
  return orderTest(op, y)(x);
}

function constantCompare(a: Literal['value'], op: CompareOp, b: Literal['value']): boolean {
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (a === null || b === null || typeof a === 'boolean' || typeof b === 'boolean') return false;
  if (typeof a !== typeof b) return false;
  const c = a < b ? -1 : a > b ? 1 : 0;
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}
