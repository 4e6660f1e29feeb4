/**
 * A necessary condition on an event's raw JSON text, read off a pushed-down query, so that
 * `lookout test-rule` parses only the lines that could match: a line that holds none of the
 * strings the query requires cannot be selected by it, and the query selects a superset of
 * what the rule accepts (search/pushdown.ts).
 *
 * String values become requirements as the text JSON gives them (`JSON.stringify` without
 * the quotes): a `term` or `prefix` value, the literal pieces of a `wildcard` pattern; `terms`
 * is any of its values; `bool` filter/must are all of, should (with minimum_should_match 1) any
 * of; `must_not`, numeric-looking strings, ranges, exists, match queries and anything else ask
 * nothing, and so do fields starting with `_` (`_index` is not in an event's text).
 * Case-insensitive values are searched ignoring ASCII case.
 *
 * A `term`/`terms` number that is a whole number from 2 to 10^15 in magnitude asks for its decimal
 * digits (without the sign): the evaluators compare a number with `Number()` of a string or the
 * parsed JSON number, and a decimal text with at most 15 significant digits and no exponent
 * reads as the whole number N only when its value is N exactly, which is N's digits with
 * perhaps a sign, leading zeros, spaces or a fraction of zeros around them (5985.0, "05985",
 * "+5985", "-4" for -4). The other spellings make the line parsed whatever it holds: an exponent
 * (5.985e3), 16 digits or more that round to it (5984.9999999999999999 reads as 5985), and a
 * string that is a hexadecimal, octal or binary literal ("0x1761"); see oddNumber. Other numbers ask nothing: 0 and 1
 * too, since a Sigma logsource condition compares with `Number()` of any value, which reads
 * true as 1 and false and a blank string as 0.
 *
 * A line is always parsed when its text could spell a value another way: a `\u` or `\/` escape
 * (JSON allows either for any character), or, where a case-insensitive value was not found,
 * any character outside ASCII (JavaScript and Lucene fold those differently).
 */
import type { FieldTypes } from './field-caps.js';
import type { EsQuery } from './pushdown.js';

/** What a line must hold: true (nothing), a string, a whole number's digits, or all/any of several. */
type Need = true | { readonly lit: string; readonly ci: boolean } | { readonly digits: string } | { readonly all: readonly Need[] } | { readonly any: readonly Need[] };

/** `plain`: the caller knows the line is ASCII without `\u` or `\/` escapes. */
export type LineTest = (line: string, plain?: boolean) => boolean;

/**
 * The test, or undefined when the query asks nothing of a line's text. `numbers(field)`: whether
 * the numbers a field is compared with may ask for their digits (not where a mapping's
 * `null_value` stands for a missing value); every field by default.
 */
export function linePrefilter(query: EsQuery | null, numbers: (field: string) => boolean = () => true): LineTest | undefined {
  const need = needOf(query, numbers);
  if (need === true) return undefined;
  const ci = hasCaseInsensitive(need);
  const holds = compile(need);
  return (line, plain = false) => {
    if (!plain && (line.includes('\\u') || line.includes('\\/'))) return true;
    if (holds(line)) return true;
    return ci && !plain && /[^\x00-\x7f]/.test(line);
  };
}

/**
 * Field types for reading a line test off a pushdown (`pushed`): `base` (keyword, for the strings
 * a rule compares with), except that a field no string term-like query of that pushdown names is
 * given `double`, so that the numbers the rule compares it with become requirements too (on a
 * numeric field a string asks nothing, so nothing is lost). `numeric(field)` says whether a field
 * may be taken so (not one a mapping types).
 */
export function lineTestTypes(base: FieldTypes, pushed: (types: FieldTypes) => EsQuery | null, numeric: (field: string) => boolean): FieldTypes {
  const strings = stringFields(pushed(base));
  const types = new Map(base);
  for (const f of base.keys()) if (!strings.has(f) && numeric(f)) types.set(f, new Set(['double']));
  return types;
}

/** Fields of the term, terms, prefix and wildcard queries in `q` with a string value. */
function stringFields(q: unknown, into = new Set<string>()): Set<string> {
  if (!q || typeof q !== 'object') return into;
  if (Array.isArray(q)) {
    for (const x of q) stringFields(x, into);
    return into;
  }
  for (const [key, body] of Object.entries(q as Record<string, unknown>)) {
    if (key === 'term' || key === 'terms' || key === 'prefix' || key === 'wildcard') {
      const l = leaf(body);
      if (!l) continue;
      const values = Array.isArray(l.value) ? l.value : [l.value];
      if (values.some((v) => typeof v === 'string')) into.add(l.field);
    } else stringFields(body, into);
  }
  return into;
}

/**
 * Whether a line may hold a number that reads as a whole number from 2 to 10^15 without that
 * number's digits: an exponent (5.985e3), a hexadecimal, octal or binary string ("0x1761"), or
 * digits that round to it, which (the rounding error being under 0.0625 there) is one below it
 * followed by a fraction from .9375 and 16 digits or more in all (5984.9999999999999999). A
 * cheap necessary test runs first, since most lines are refused here.
 */
function oddNumber(line: string): boolean {
  return MAYBE_ODD.test(line) && (EXPONENT.test(line) || RADIX_STRING.test(line) || roundsUp(line));
}

/** Necessary for each of the three (one pass over the line). */
const MAYBE_ODD = /[eE][\d+-]|0[xXoObB]|\.9/;
const EXPONENT = /[\d.][eE][+-]?\d/;
const RADIX_STRING = /"(?:\s|\\[tnrf])*0[xXoObB][\da-fA-F]+(?:\s|\\[tnrf])*"/;

/** A `.9` with 16 digits or more around it. */
function roundsUp(line: string): boolean {
  for (let at = line.indexOf('.9'); at >= 0; at = line.indexOf('.9', at + 2)) {
    let digits = 0;
    for (let i = at - 1; i >= 0 && isDigit(line.charCodeAt(i)); i--) digits++;
    for (let i = at + 1; i < line.length && isDigit(line.charCodeAt(i)); i++) digits++;
    if (digits >= 16) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Cheapest first, so that the costlier tests (case-insensitive, numbers) run on fewer lines. */
function cost(n: Need): number {
  if (n === true) return 0;
  if ('lit' in n) return n.ci ? 2 : 1;
  if ('digits' in n) return 3;
  return 4;
}

function all(needs: Need[]): Need {
  const rest = needs.filter((n) => n !== true).sort((a, b) => cost(a) - cost(b));
  return rest.length === 0 ? true : rest.length === 1 ? rest[0] : { all: rest };
}

function any(needs: Need[]): Need {
  return needs.length === 0 || needs.some((n) => n === true) ? true : needs.length === 1 ? needs[0] : { any: needs };
}

function literal(value: unknown, ci: boolean): Need {
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) > 1 && Math.abs(value) < 1e15 ? { digits: String(Math.abs(value)) } : true;
  if (typeof value !== 'string' || value === '' || /^[\s+\-.\deE]*$/.test(value)) return true;
  return { lit: JSON.stringify(value).slice(1, -1), ci };
}

/** The literal pieces of a wildcard pattern (`*` any run, `?` one character, `\` escapes). */
function wildcardPieces(pattern: string, ci: boolean): Need {
  const pieces: Need[] = [];
  let piece = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) piece += pattern[++i];
    else if (c === '*' || c === '?') {
      pieces.push(literal(piece, ci));
      piece = '';
    } else piece += c;
  }
  pieces.push(literal(piece, ci));
  return all(pieces);
}

/** `{field: value}` or `{field: {value|wildcard, case_insensitive}}` of a leaf query. */
function leaf(body: unknown): { field: string; value: unknown; ci: boolean } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const entries = Object.entries(body as Record<string, unknown>).filter(([k]) => k !== 'boost' && k !== '_name');
  if (entries.length !== 1) return undefined;
  const [field, spec] = entries[0];
  if (field.startsWith('_')) return undefined;
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const s = spec as Record<string, unknown>;
    return { field, value: s.value ?? s.wildcard, ci: s.case_insensitive === true };
  }
  return { field, value: spec, ci: false };
}

function needOf(q: unknown, numbers: (field: string) => boolean): Need {
  if (!q || typeof q !== 'object') return true;
  const query = q as Record<string, unknown>;
  const keys = Object.keys(query);
  if (keys.length !== 1) return true;
  const body = query[keys[0]];
  switch (keys[0]) {
    case 'bool': {
      const b = body as Record<string, unknown>;
      const list = (k: string): unknown[] => (Array.isArray(b[k]) ? (b[k] as unknown[]) : b[k] ? [b[k]] : []);
      const required = [...list('filter'), ...list('must')].map((x) => needOf(x, numbers));
      const should = list('should');
      const msm = b.minimum_should_match;
      const shouldCounts = should.length > 0 && (msm === 1 || msm === '1' || (msm === undefined && required.length === 0));
      return all(shouldCounts ? [...required, any(should.map((x) => needOf(x, numbers)))] : required);
    }
    case 'term':
    case 'prefix': {
      const l = leaf(body);
      return l && (typeof l.value !== 'number' || numbers(l.field)) ? literal(l.value, l.ci) : true;
    }
    case 'wildcard': {
      const l = leaf(body);
      return l && typeof l.value === 'string' ? wildcardPieces(l.value, l.ci) : true;
    }
    case 'terms': {
      const l = leaf(body);
      return l && Array.isArray(l.value) ? any(l.value.map((v) => (typeof v !== 'number' || numbers(l.field) ? literal(v, false) : true))) : true;
    }
    default:
      return true;
  }
}

function hasCaseInsensitive(n: Need): boolean {
  if (n === true) return false;
  if ('lit' in n) return n.ci;
  if ('digits' in n) return false;
  return ('all' in n ? n.all : n.any).some(hasCaseInsensitive);
}

function compile(n: Need): LineTest {
  if (n === true) return () => true;
  if ('lit' in n) {
    const { lit } = n;
    if (!n.ci) return (line) => line.includes(lit);
    const re = new RegExp(lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    return (line) => re.test(line);
  }
  if ('digits' in n) {
    const { digits } = n;
    return (line) => line.includes(digits) || oddNumber(line);
  }
  if ('any' in n && n.any.every((x) => x !== true && 'digits' in x)) {
    // Any of several numbers (`terms`): the digits of each, then the other spellings once.
    const all = n.any.map((x) => (x as { readonly digits: string }).digits);
    return (line) => all.some((d) => line.includes(d)) || oddNumber(line);
  }
  const parts = ('all' in n ? n.all : n.any).map(compile);
  return 'all' in n ? (line) => parts.every((p) => p(line)) : (line) => parts.some((p) => p(line));
}
