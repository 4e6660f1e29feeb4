/**
 * Compiles ES|QL expressions to closures over a row, with ES|QL's null and multi-value rules:
 * null operands give null; a multi-valued operand of an operator or of a function that is not
 * multi-value aware gives null and a warning; AND/OR/NOT are three-valued; `WHERE` keeps only
 * true. Whether a number is a double is inferred statically (a decimal literal, a double field,
 * TO_DOUBLE, AVG, arithmetic with a double), so `5 / 2` is 2 and `5 / 2.0` is 2.5.
 */
import { EsqlVerificationError } from '../errors.js';
import { AGGREGATES } from './aggregates.js';
import type { Call, Expr } from './ast.js';
import { FUNCTIONS, type FnContext, KNOWN_UNSUPPORTED, scalarToString } from './functions.js';
import { compileRlike } from './lucene-regex.js';
import { compileLike, PatternError } from './regex.js';
import { compareScalars, isMulti, mv, parseDate, type Row, type Scalar, TimeSpanValue, toDate, toList, type Value } from './values.js';

export type Evaluator = (row: Row) => Value;

/**
 * Evaluates `KQL("...")` for one row: the row of the event's leaf fields and, when the row is
 * still the one FROM made (KQL stands in a WHERE right after FROM), the event's `_source`.
 */
export type KqlPredicate = (row: Row, source: Readonly<Record<string, unknown>> | undefined) => boolean;
/** Turns a KQL query text into a predicate; throws a LookoutError with a reason when it cannot. */
export type KqlPredicateFactory = (query: string) => KqlPredicate;

export interface ExprContext extends FnContext {}

export interface ExprCompilerOptions {
  readonly ctx: ExprContext;
  readonly kql?: KqlPredicateFactory;
  /** Columns known to hold doubles (from field types and EVALs). */
  readonly doubles: Set<string>;
  /** Position lookup for errors. */
  readonly lineColumn: (offset: number) => { line: number; column: number };
  /** In STATS: aggregate calls become slots read from the row under these names. */
  readonly aggregateSlot?: (call: Call) => string;
  /** Every column read. */
  readonly reads: Set<string>;
  /** The columns that exist, once a STATS has fixed them (null before: any source column may). */
  readonly known?: Set<string> | null;
  /** The `_source` a row was made from, while it is that row. */
  readonly sourceOf?: (row: Row) => Readonly<Record<string, unknown>> | undefined;
  /** Fields mapped as keyword (MATCH compares their whole value). */
  readonly keywordFields?: ReadonlySet<string>;
}

const TIME_CASTS: Record<string, string> = {
  long: 'TO_LONG', integer: 'TO_INTEGER', int: 'TO_INTEGER', double: 'TO_DOUBLE', keyword: 'TO_STRING', string: 'TO_STRING', text: 'TO_STRING',
  ip: 'TO_IP', geo_point: 'TO_GEOPOINT', datetime: 'TO_DATETIME', date: 'TO_DATETIME', boolean: 'TO_BOOLEAN', bool: 'TO_BOOLEAN',
};

export class ExprCompiler {
  constructor(private readonly o: ExprCompilerOptions) {}

  /** A column an EVAL made, visible to the next expressions of the same EVAL. */
  declare(name: string): void {
    this.o.known?.add(name);
  }

  fail(offset: number, reason: string): never {
    const { line, column } = this.o.lineColumn(offset);
    throw new EsqlVerificationError(reason, line, column);
  }

  isDouble(e: Expr): boolean {
    switch (e.kind) {
      case 'literal':
        return e.double === true;
      case 'field':
        return this.o.doubles.has(e.name);
      case 'arith':
        return this.isDouble(e.left) || this.isDouble(e.right);
      case 'neg':
        return this.isDouble(e.operand);
      case 'cast':
        return e.type === 'double';
      case 'call':
        if (['TO_DOUBLE', 'AVG', 'ST_DISTANCE', 'ST_X', 'ST_Y'].includes(e.name)) return true;
        if (['MAX', 'MIN', 'SUM', 'ROUND', 'ABS', 'MV_FIRST', 'MV_LAST', 'MV_MIN', 'MV_MAX', 'MV_SUM', 'COALESCE', 'VALUES', 'TOP'].includes(e.name)) return e.args.some((a) => this.isDouble(a));
        if (e.name === 'CASE') return e.args.some((a, i) => (i % 2 === 1 || i === e.args.length - 1) && this.isDouble(a));
        return false;
      default:
        return false;
    }
  }

  compile(e: Expr): Evaluator {
    const ctx = this.o.ctx;
    switch (e.kind) {
      case 'literal': {
        const v: Value = Array.isArray(e.value) ? mv(e.value.filter((x): x is Scalar => x !== null)) : (e.value as Value);
        return () => v;
      }
      case 'timespan': {
        const v = new TimeSpanValue(e.amount, e.unit);
        return () => v;
      }
      case 'field': {
        const name = e.name;
        if (this.o.known && !this.o.known.has(name)) return this.fail(e.start, `Unknown column [${name}]`);
        this.o.reads.add(name);
        return (row) => row.get(name) ?? null;
      }
      case 'not': {
        const f = this.compile(e.operand);
        return (row) => {
          const v = f(row);
          return typeof v === 'boolean' ? !v : null;
        };
      }
      case 'and':
      case 'or': {
        const l = this.compile(e.left);
        const r = this.compile(e.right);
        const isAnd = e.kind === 'and';
        return (row) => {
          const a = l(row);
          if (a === !isAnd) return a;
          const b = r(row);
          if (b === !isAnd) return b;
          if (a === null || b === null || typeof a !== 'boolean' || typeof b !== 'boolean') return null;
          return isAnd;
        };
      }
      case 'neg': {
        const f = this.compile(e.operand);
        return (row) => {
          const v = this.single(f(row), '-');
          if (v === null) return null;
          if (v instanceof TimeSpanValue) return new TimeSpanValue(-v.amount, v.unit);
          return -Number(v);
        };
      }
      case 'isnull': {
        const f = this.compile(e.operand);
        return (row) => (f(row) === null) !== e.negated;
      }
      case 'compare':
        return this.compileCompare(e.op as '==', this.compile(e.left), this.compile(e.right));
      case 'arith':
        return this.compileArith(e.op as '+', this.compile(e.left), this.compile(e.right), this.isDouble(e));
      case 'in': {
        const value = this.compile(e.value);
        const list = e.list.map((x) => this.compile(x));
        return (row) => {
          const v = this.single(value(row), 'IN');
          if (v === null) return null;
          let sawNull = false;
          for (const item of list) {
            const x = item(row);
            if (x === null || isMulti(x)) {
              sawNull = true;
              continue;
            }
            if (equals(v, x as Scalar)) return !e.negated;
          }
          return sawNull ? null : e.negated;
        };
      }
      case 'like': {
        let tests: ((t: string) => boolean)[];
        try {
          tests = e.patterns.map((p) => (e.regex ? compileRlike(p) : compileLike(p)));
        } catch (err) {
          return this.fail(e.start, err instanceof PatternError ? err.message : String(err));
        }
        const value = this.compile(e.value);
        return (row) => {
          const v = this.single(value(row), e.regex ? 'RLIKE' : 'LIKE');
          if (v === null) return null;
          const text = typeof v === 'string' ? v : scalarToString(v);
          return tests.some((t) => t(text)) !== e.negated;
        };
      }
      case 'cast': {
        const fn = TIME_CASTS[e.type];
        if (!fn) return this.fail(e.start, `not supported: cast to ${e.type}`);
        const f = this.compile(e.operand);
        const impl = FUNCTIONS[fn];
        return (row) => impl.call([f(row)], ctx);
      }
      case 'call':
        return this.compileCall(e);
      case 'map':
        return this.fail(e.start, 'options { ... } are only allowed as the last argument of MATCH');
    }
  }

  /** A value for an operator: null stays null, a multi-value becomes null with a warning. */
  private single(v: Value, what: string): Scalar | null {
    if (isMulti(v)) {
      this.o.ctx.warn(`${what}: single-value function encountered multi-value`);
      return null;
    }
    return v as Scalar | null;
  }

  private compileCompare(op: '==' | '!=' | '<' | '<=' | '>' | '>=', l: Evaluator, r: Evaluator): Evaluator {
    return (row) => {
      const a = this.single(l(row), op);
      const b = this.single(r(row), op);
      if (a === null || b === null) return null;
      const c = compareLoose(a, b);
      if (c === null) return null;
      switch (op) {
        case '==': return c === 0;
        case '!=': return c !== 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        default: return c >= 0;
      }
    };
  }

  private compileArith(op: '+' | '-' | '*' | '/' | '%', l: Evaluator, r: Evaluator, double: boolean): Evaluator {
    const ctx = this.o.ctx;
    return (row) => {
      const a = this.single(l(row), op);
      const b = this.single(r(row), op);
      if (a === null || b === null) return null;
      const da = a instanceof Date ? a : null;
      if (da || b instanceof Date) {
        const date = da ?? (b as Date);
        const span = da ? b : a;
        if (!(span instanceof TimeSpanValue) || (op !== '+' && op !== '-') || (!da && op === '-')) {
          ctx.warn(`${op}: unsupported operands for a date`);
          return null;
        }
        const out = addSpan(date, span, op === '-' ? -1 : 1);
        if (Number.isNaN(out.getTime())) {
          ctx.warn(`${op}: date out of range`);
          return null;
        }
        return out;
      }
      const x = Number(a);
      const y = Number(b);
      if (Number.isNaN(x) || Number.isNaN(y)) {
        ctx.warn(`${op}: operands are not numbers`);
        return null;
      }
      switch (op) {
        case '+': return x + y;
        case '-': return x - y;
        case '*': return x * y;
        case '/':
        case '%': {
          const integer = !double && Number.isInteger(x) && Number.isInteger(y);
          if (integer && y === 0) {
            ctx.warn(`${op}: / by zero`);
            return null;
          }
          if (op === '%') return x % y;
          const q = x / y;
          if (!integer) return Number.isFinite(q) ? q : null;
          return Math.trunc(q);
        }
      }
    };
  }

  private compileCall(e: Call): Evaluator {
    const aggregate = AGGREGATES[e.name];
    if (aggregate) {
      if (!this.o.aggregateSlot) return this.fail(e.start, `aggregate function ${e.name} is only allowed in STATS`);
      const slot = this.o.aggregateSlot(e);
      return (row) => row.get(slot) ?? null;
    }
    if (e.name === 'KQL') return this.compileKql(e);
    if (e.name === 'MATCH') return this.compileMatch(e);
    const fn = FUNCTIONS[e.name];
    if (!fn) {
      if (KNOWN_UNSUPPORTED.has(e.name)) return this.fail(e.start, `not supported: ${e.name}`);
      return this.fail(e.start, `not supported: ${e.name} (unknown function)`);
    }
    if (e.star) return this.fail(e.start, `${e.name}(*) is not allowed`);
    if (e.args.length < fn.min || e.args.length > fn.max) {
      const want = fn.min === fn.max ? `${fn.min}` : fn.max === Infinity ? `at least ${fn.min}` : `${fn.min} to ${fn.max}`;
      return this.fail(e.start, `${e.name} takes ${want} argument${fn.max === 1 ? '' : 's'}, got ${e.args.length}`);
    }
    const args = e.args.map((a) => this.compile(a));
    const ctx = this.o.ctx;
    if (e.name === 'TO_STRING' && this.isDouble(e.args[0])) {
      // A double prints with its fraction, as Java does: 1.0, not 1.
      return (row) => mv(toList(args[0](row)).map((v) => scalarToString(v, true)));
    }
    if (fn.raw) return (row) => fn.call(args.map((a) => a(row)), ctx);
    const name = e.name;
    return (row) => {
      const values: Value[] = [];
      for (const a of args) {
        const v = a(row);
        if (v === null) return null;
        if (isMulti(v)) {
          ctx.warn(`${name}: single-value function encountered multi-value`);
          return null;
        }
        values.push(v);
      }
      return fn.call(values, ctx);
    };
  }

  /**
   * MATCH(field, query[, options]) and `field : query`: full-text match, approximated in memory
   * with the standard analyzer's word splitting (or the whole value on a keyword field); any
   * query term matching a value term is a match (operator OR), AND needs all. `fuzziness` (0, 1, 2
   * or AUTO) allows that many edits (Damerau-Levenshtein, as Lucene's fuzzy query).
   */
  private compileMatch(e: Call): Evaluator {
    const [field, query, options] = e.args;
    if (e.args.length < 2 || e.args.length > 3) return this.fail(e.start, `MATCH takes 2 or 3 arguments, got ${e.args.length}`);
    const target = field.kind === 'cast' ? field.operand : field;
    if (target.kind !== 'field') return this.fail(field.start, 'MATCH needs a field (or a cast of one) as its first argument');
    let fuzziness: number | 'auto' = 0;
    let all = false;
    if (options !== undefined) {
      if (options.kind !== 'map') return this.fail(options.start, 'the third argument of MATCH must be options { ... }');
      for (const [k, v] of options.entries) {
        if (k === 'fuzziness') {
          if (typeof v === 'string' && v.toUpperCase() === 'AUTO') fuzziness = 'auto';
          else if (typeof v === 'number' && [0, 1, 2].includes(v)) fuzziness = v;
          else if (typeof v === 'string' && ['0', '1', '2'].includes(v)) fuzziness = Number(v);
          else return this.fail(options.start, `not supported: MATCH fuzziness ${String(v)}`);
        } else if (k === 'operator') {
          all = String(v).toUpperCase() === 'AND';
        } else if (k === 'max_expansions' || k === 'boost' || k === 'lenient' || k === 'fuzzy_transpositions' && v === true) {
          // max_expansions bounds the index terms a fuzzy query expands to; one value has a handful.
        } else return this.fail(options.start, `not supported: MATCH option ${k}`);
      }
    }
    const keyword = field.kind === 'field' && (this.o.keywordFields?.has(field.name) ?? false);
    const value = this.compile(field);
    const q = this.compile(query);
    const terms = (t: string) => (keyword ? [t] : (t.toLowerCase().match(/[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu) ?? []));
    const close = (a: string, b: string) => {
      const edits = fuzziness === 'auto' ? (b.length <= 2 ? 0 : b.length <= 5 ? 1 : 2) : fuzziness;
      return edits === 0 ? a === b : editDistance(a, b, edits) <= edits;
    };
    return (row) => {
      const v = value(row);
      const text = q(row);
      if (v === null || text === null || isMulti(text)) return v === null ? false : null;
      const wanted = terms(scalarToString(text as Scalar));
      const have = toList(v).flatMap((x) => terms(scalarToString(x)));
      const hit = (w: string) => have.some((h) => close(h, w));
      return wanted.length > 0 && (all ? wanted.every(hit) : wanted.some(hit));
    };
  }

  private compileKql(e: Call): Evaluator {
    const arg = e.args[0];
    if (e.args.length !== 1 || arg.kind !== 'literal' || typeof arg.value !== 'string') return this.fail(e.start, 'KQL takes one string literal');
    if (!this.o.kql) return this.fail(e.start, 'not supported: KQL (no KQL evaluator was given to the ES|QL compiler)');
    let p: KqlPredicate;
    try {
      p = this.o.kql(arg.value);
    } catch (err) {
      return this.fail(e.start, `KQL query cannot be used: ${err instanceof Error ? err.message : String(err)}`);
    }
    const sourceOf = this.o.sourceOf ?? (() => undefined);
    return (row) => p(row, sourceOf(row));
  }
}

export function equals(a: Scalar, b: Scalar): boolean {
  return compareLoose(a, b) === 0;
}

/**
 * Compares two values as ES|QL does after its implicit casts: a string against a date is read as
 * a date, a string against a number as a number (values from `_source` without a mapping may be
 * either); otherwise values of different kinds are unequal and unordered (null).
 */
export function compareLoose(a: Scalar, b: Scalar): number | null {
  if (typeof a === typeof b && !(a instanceof Date) && !(b instanceof Date)) return compareScalars(a, b);
  if (a instanceof Date || b instanceof Date) {
    const x = a instanceof Date ? a : typeof a === 'string' ? parseDate(a) : toDate(a);
    const y = b instanceof Date ? b : typeof b === 'string' ? parseDate(b) : toDate(b);
    if (!x || !y) return null;
    return x.getTime() - y.getTime();
  }
  if (typeof a === 'number' && typeof b === 'string') {
    const n = Number(b);
    return b.trim() === '' || Number.isNaN(n) ? compareScalars(String(a), b) : a - n;
  }
  if (typeof a === 'string' && typeof b === 'number') {
    const n = Number(a);
    return a.trim() === '' || Number.isNaN(n) ? compareScalars(a, String(b)) : n - b;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b) ? 0 : null;
  return null;
}

export function addSpan(d: Date, span: TimeSpanValue, sign: 1 | -1): Date {
  const fixed = span.fixedMs();
  if (fixed !== null) return new Date(d.getTime() + sign * fixed);
  const months = span.unit === 'month' ? span.amount : span.unit === 'quarter' ? 3 * span.amount : 12 * span.amount;
  const out = new Date(d.getTime());
  const day = out.getUTCDate();
  out.setUTCDate(1);
  out.setUTCMonth(out.getUTCMonth() + sign * months);
  const last = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate();
  out.setUTCDate(Math.min(day, last));
  return out;
}

export { toList };

/** Optimal string alignment distance (Levenshtein with adjacent transpositions), stopping early above `max`. */
export function editDistance(a: string, b: string, max: number): number {
  const x = [...a];
  const y = [...b];
  if (Math.abs(x.length - y.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[y.length];
}
