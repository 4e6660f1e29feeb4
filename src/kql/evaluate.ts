/**
 * KQL evaluated on an event's `_source`, meant to agree with what the server answers to the
 * translated query (translate.ts). A field may hold several values (arrays at any level, dotted
 * keys); the condition holds when one of them matches, as in Elasticsearch. Comparisons follow
 * the field's type from `_field_caps`:
 * - keyword-like: exact, case-sensitive strings (`*` wildcards; range in UTF-8 byte order);
 * - numeric: numbers (integers truncated as the server indexes them, `float` at float precision);
 * - date: date math with the server's rounding of range bounds (date-math.ts), in UTC;
 * - ip: addresses and CIDR blocks (ip.ts); boolean: `true`/`false`.
 * What the server analyses or cannot run exactly is approximated, and its field is listed in
 * `approximate` (`*` for field-less terms), because there the server's answer is the truth:
 * `text` fields (a lower-cased token match: `match` needs one token, `match_phrase` all in a
 * row), a `query_string` (wildcard values on non-keyword fields), conflicting types, values the
 * server would refuse for the type (it fails the search; here they match nothing), and every
 * field when no types are given (then values compare as they are in the document).
 * A field the given types do not know matches nothing, as on the server; so does a field inside
 * a `nested` object queried outside a nested query. A nested query on a path the types do not
 * map as `nested` matches nothing and is listed as approximate (the server fails the search).
 */
import type { FieldTypes } from '../search/field-caps.js';
import { compileGetter, type Getter, type Primitive } from '../eql/fields.js';
import { fieldText, isLoneWildcard, isWildcard, valueText, type FieldName, type KqlNode, type RangeOp, type Value } from './ast.js';
import { parseDate, parseDateMath } from '../config/date-math.js';
import { compareIp, parseCidr, parseIp } from './ip.js';
import { esTypesOf, fullFieldName, resolveFields, wildcardRegExp } from './translate.js';

export interface KqlEvalOptions {
  /** Field types of the target indices; without them values compare as they are (approximate). */
  readonly types?: FieldTypes;
  /** The clock for `now` in date math. Default Date.now. */
  readonly now?: () => number;
  /** As KqlDslOptions.caseInsensitive. */
  readonly caseInsensitive?: boolean;
}

export type KqlPredicate = (source: unknown) => boolean;

export interface KqlMatcher {
  readonly matches: KqlPredicate;
  /** Fields where the verdict approximates the server's (`*`: field-less terms), sorted. */
  readonly approximate: readonly string[];
}

type Kind = 'keyword' | 'numeric' | 'date' | 'ip' | 'boolean' | 'text' | 'unknown';
type Test = (v: Primitive) => boolean;

const KEYWORD = new Set(['keyword', 'constant_keyword', 'wildcard']);
const INTEGER = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const NUMERIC = new Set([...INTEGER, 'double', 'float', 'half_float', 'scaled_float']);
const TEXT = new Set(['text', 'match_only_text']);
const NEVER: KqlPredicate = () => false;

function kindOf(esTypes: readonly string[]): Kind {
  if (esTypes.length === 0) return 'unknown';
  const all = (s: ReadonlySet<string>) => esTypes.every((t) => s.has(t));
  if (all(KEYWORD)) return 'keyword';
  if (all(NUMERIC)) return 'numeric';
  if (esTypes.every((t) => t === 'date' || t === 'date_nanos')) return 'date';
  if (all(new Set(['ip']))) return 'ip';
  if (all(new Set(['boolean']))) return 'boolean';
  if (all(TEXT)) return 'text';
  return 'unknown';
}

/** Whether numbers of these types compare exactly here (not half_float, scaled_float, or mixes of them). */
function numericExact(esTypes: readonly string[]): boolean {
  return esTypes.length === 1 && (INTEGER.has(esTypes[0]) || esTypes[0] === 'double' || esTypes[0] === 'float');
}

function toNumber(v: Primitive): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function tokens(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t !== '');
}

/** A `*` pattern (parts between the stars) on a whole string. */
export function wildcardTest(parts: readonly string[]): (s: string) => boolean {
  if (parts.length === 1) return (s) => s === parts[0];
  const first = parts[0];
  const last = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  return (s) => {
    if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
    let at = first.length;
    const end = s.length - last.length;
    for (const m of middle) {
      const i = s.indexOf(m, at);
      if (i < 0 || i + m.length > end) return false;
      at = i + m.length;
    }
    return true;
  };
}

function cmp(op: RangeOp, c: number): boolean {
  return op === 'gt' ? c > 0 : op === 'gte' ? c >= 0 : op === 'lt' ? c < 0 : c <= 0;
}

/** Every primitive in a document with its dotted path (arrays flattened), for field-less terms. */
function leaves(node: unknown, prefix: string, out: [string, Primitive][]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) leaves(item, prefix, out);
    return;
  }
  const t = typeof node;
  if (t === 'string' || t === 'number' || t === 'boolean') {
    out.push([prefix, node as Primitive]);
    return;
  }
  if (t !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
}

/** The objects at a path (arrays flattened), for nested queries. */
function objectsAt(node: unknown, parts: readonly string[], i: number, out: unknown[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) objectsAt(item, parts, i, out);
    return;
  }
  if (typeof node !== 'object') return;
  if (i === parts.length) {
    out.push(node);
    return;
  }
  const obj = node as Record<string, unknown>;
  objectsAt(obj[parts[i]], parts, i + 1, out);
  for (let j = i + 2; j <= parts.length; j++) {
    const dotted = obj[parts.slice(i, j).join('.')];
    if (dotted !== undefined) objectsAt(dotted, parts, j, out);
  }
}

export function compileMatcher(node: KqlNode, options: KqlEvalOptions = {}): KqlMatcher {
  const c = new Compiler(options);
  const matches = c.compile(node, null);
  return { matches, approximate: [...c.approximate].sort() };
}

class Compiler {
  readonly approximate = new Set<string>();
  private readonly now: () => number;
  constructor(private readonly options: KqlEvalOptions) {
    this.now = options.now ?? Date.now;
  }

  compile(node: KqlNode, nested: string | null): KqlPredicate {
    switch (node.kind) {
      case 'match_all':
        return () => true;
      case 'and': {
        const parts = node.children.map((c) => this.compile(c, nested));
        return (doc) => parts.every((p) => p(doc));
      }
      case 'or': {
        const parts = node.children.map((c) => this.compile(c, nested));
        return (doc) => parts.some((p) => p(doc));
      }
      case 'not': {
        const inner = this.compile(node.child, nested);
        return (doc) => !inner(doc);
      }
      case 'nested': {
        const rel = fieldText(node.path);
        const full = nested === null ? rel : `${nested}.${rel}`;
        // The server answers only through a nested mapping (elsewhere: nothing, or an error).
        if (this.options.types !== undefined && !this.options.types.get(full)?.has('nested')) {
          this.approximate.add(full);
          return NEVER;
        }
        const inner = this.compile(node.query, full);
        const parts = rel.split('.');
        return (doc) => {
          const objects: unknown[] = [];
          objectsAt(doc, parts, 0, objects);
          return objects.some((o) => inner(o));
        };
      }
      case 'is':
        if (isLoneWildcard(node.value) && node.field !== null && isLoneWildcard(node.field)) return () => true;
        if (node.field === null) return this.fieldless(node.value);
        return this.onFields(node.field, nested, (kind, esTypes, name) => this.isTest(kind, esTypes, name, node.value));
      case 'range':
        return this.onFields(node.field, nested, (kind, esTypes, name) => this.rangeTest(kind, esTypes, name, node.op, node.value));
    }
  }

  /** A test on each field a name stands for; the predicate holds when one value of one field passes. */
  private onFields(field: FieldName, nested: string | null, test: (kind: Kind, esTypes: readonly string[], name: string) => Test | null): KqlPredicate {
    const types = this.options.types;
    const full = fullFieldName(field, nested);
    const rel = (name: string) => (nested === null ? name : name.slice(nested.length + 1));
    if (types === undefined) {
      if (isWildcard(full)) {
        this.approximate.add(fieldText(full));
        const re = wildcardRegExp(field.parts);
        const t = test('unknown', [], fieldText(full));
        if (t === null) return NEVER;
        return (doc) => {
          const all: [string, Primitive][] = [];
          leaves(doc, '', all);
          return all.some(([path, v]) => re.test(path) && t(v));
        };
      }
      const name = fieldText(full);
      this.approximate.add(name);
      const t = test('unknown', [], name);
      return t === null ? NEVER : some(compileGetter(rel(name)), t);
    }
    const found = resolveFields(full, types);
    const parts: KqlPredicate[] = [];
    for (const f of found) {
      // A field under a nested object is not on the root document: only a nested query reaches it.
      if (!isWildcard(full) && nested === null && underNested(types, f.name)) continue;
      const kind = kindOf(f.esTypes);
      if (kind === 'unknown' || kind === 'text') this.approximate.add(f.name);
      const t = test(kind, f.esTypes, f.name);
      if (t !== null) parts.push(some(compileGetter(rel(f.name)), t));
    }
    if (parts.length === 0) return NEVER;
    if (parts.length === 1) return parts[0];
    return (doc) => parts.some((p) => p(doc));
  }

  private fieldless(value: Value): KqlPredicate {
    this.approximate.add('*');
    const types = this.options.types;
    const cache = new Map<string, Test | null>();
    const testFor = (path: string): Test | null => {
      let t = cache.get(path);
      if (t === undefined) {
        const esTypes = types === undefined ? [] : esTypesOf(types, path);
        const kind = types === undefined ? 'unknown' : esTypes.length === 0 ? null : kindOf(esTypes);
        if (kind === null) t = null;
        else if (isWildcard(value)) t = kind === 'keyword' || kind === 'text' || kind === 'unknown' ? this.isTest(kind, esTypes, path, value) : null;
        else t = this.isTest(kind === 'unknown' ? 'fieldless' : kind, esTypes, path, value);
        cache.set(path, t);
      }
      return t;
    };
    return (doc) => {
      const all: [string, Primitive][] = [];
      leaves(doc, '', all);
      return all.some(([path, v]) => {
        const t = testFor(path);
        return t !== null && t(v);
      });
    };
  }

  private isTest(kind: Kind | 'fieldless', esTypes: readonly string[], name: string, value: Value): Test | null {
    const ci = this.options.caseInsensitive === true;
    if (isLoneWildcard(value)) return () => true;
    if (isWildcard(value)) {
      if (kind === 'keyword') {
        if (esTypes.length !== 1 || esTypes[0] !== 'keyword') this.approximate.add(name); // a query_string
        const w = wildcardTest(ci ? value.parts.map((p) => p.toLowerCase()) : value.parts);
        return (v) => w(ci ? String(v).toLowerCase() : String(v));
      }
      this.approximate.add(name);
      if (kind === 'text') {
        const w = wildcardTest(value.parts.map((p) => p.toLowerCase()));
        return (v) => typeof v === 'string' && tokens(v).some(w);
      }
      if (kind === 'unknown') {
        const w = wildcardTest(value.parts);
        return (v) => w(String(v));
      }
      return null; // the server refuses wildcards on numeric, date, ip and boolean fields
    }
    const lit = value.literal;
    switch (kind) {
      case 'keyword': {
        if (lit === null) {
          this.approximate.add(name);
          return null;
        }
        const want = ci ? String(lit).toLowerCase() : String(lit);
        return ci ? (v) => String(v).toLowerCase() === want : (v) => String(v) === want;
      }
      case 'numeric': {
        const q = typeof lit === 'string' && lit.trim() !== '' ? Number(lit) : NaN;
        if (!Number.isFinite(q) || !numericExact(esTypes)) this.approximate.add(name);
        if (!Number.isFinite(q)) return null;
        return this.numberTest(esTypes, (d) => d === this.numberQuery(esTypes, q));
      }
      case 'date': {
        const text = lit === null ? null : String(lit);
        const lo = text === null ? null : parseDateMath(text, false, this.now());
        const hi = text === null ? null : parseDateMath(text, true, this.now());
        if (lo === null || hi === null) {
          this.approximate.add(name);
          return null;
        }
        return (v) => {
          const d = dateOf(v);
          return d !== null && d >= lo && d <= hi;
        };
      }
      case 'ip': {
        const text = String(lit);
        const block = text.includes('/') ? parseCidr(text) : null;
        const addr = block === null ? parseIp(text) : null;
        if (block === null && addr === null) {
          this.approximate.add(name);
          return null;
        }
        return (v) => {
          const ip = typeof v === 'string' ? parseIp(v) : null;
          if (ip === null) return false;
          return block !== null ? compareIp(ip, block.first) >= 0 && compareIp(ip, block.last) <= 0 : compareIp(ip, addr as Uint8Array) === 0;
        };
      }
      case 'boolean': {
        const b = lit === true || lit === 'true' ? true : lit === false || lit === 'false' ? false : null;
        if (b === null) {
          this.approximate.add(name);
          return null;
        }
        return (v) => boolOf(v) === b;
      }
      case 'text': {
        if (lit === null) return null;
        const want = tokens(String(lit));
        if (want.length === 0) return null;
        if (!value.quoted) return (v) => typeof v === 'string' && tokens(v).some((t) => want.includes(t));
        return (v) => typeof v === 'string' && containsRun(tokens(v), want);
      }
      case 'fieldless':
      case 'unknown': {
        if (lit === null) return null;
        const text = String(lit);
        const n = Number(text);
        const want = tokens(text);
        const tokenMatch = kind === 'fieldless' && want.length > 0;
        return (v) => {
          if (typeof v === 'number' ? v === n && text.trim() !== '' : String(v) === text) return true;
          if (!tokenMatch || typeof v !== 'string') return false;
          const have = tokens(v);
          return value.quoted ? containsRun(have, want) : have.some((t) => want.includes(t));
        };
      }
    }
  }

  private numberQuery(esTypes: readonly string[], q: number): number {
    return esTypes.length === 1 && esTypes[0] === 'float' ? Math.fround(q) : q;
  }

  /** A test on the number a value is indexed as (integers truncated, floats rounded to float). */
  private numberTest(esTypes: readonly string[], test: (d: number) => boolean): Test {
    const integer = esTypes.every((t) => INTEGER.has(t));
    const float = esTypes.length === 1 && esTypes[0] === 'float';
    return (v) => {
      let d = toNumber(v);
      if (!Number.isFinite(d)) return false;
      if (integer) d = Math.trunc(d);
      else if (float) d = Math.fround(d);
      return test(d);
    };
  }

  private rangeTest(kind: Kind, esTypes: readonly string[], name: string, op: RangeOp, value: Value): Test | null {
    const text = valueText(value);
    if (isWildcard(value)) this.approximate.add(name);
    switch (kind) {
      case 'keyword':
        return (v) => cmp(op, utf8Compare(String(v), text));
      case 'numeric': {
        const q = text.trim() === '' ? NaN : Number(text);
        if (!Number.isFinite(q) || !numericExact(esTypes)) this.approximate.add(name);
        if (!Number.isFinite(q)) return null;
        const bound = this.numberQuery(esTypes, q);
        return this.numberTest(esTypes, (d) => cmp(op, d - bound));
      }
      case 'date': {
        const bound = parseDateMath(text, op === 'gt' || op === 'lte', this.now());
        if (bound === null) {
          this.approximate.add(name);
          return null;
        }
        return (v) => {
          const d = dateOf(v);
          return d !== null && cmp(op, d - bound);
        };
      }
      case 'ip': {
        const bound = parseIp(text);
        if (bound === null) {
          this.approximate.add(name);
          return null;
        }
        return (v) => {
          const ip = typeof v === 'string' ? parseIp(v) : null;
          return ip !== null && cmp(op, compareIp(ip, bound));
        };
      }
      case 'text': {
        const low = text.toLowerCase();
        return (v) => typeof v === 'string' && tokens(v).some((t) => cmp(op, utf8Compare(t, low)));
      }
      case 'boolean':
        this.approximate.add(name);
        return (v) => {
          const b = boolOf(v);
          return b !== null && cmp(op, (b ? 1 : 0) - (text === 'true' ? 1 : 0));
        };
      case 'unknown': {
        const n = Number(text);
        const bound = parseDateMath(text, op === 'gt' || op === 'lte', this.now());
        return (v) => {
          if (typeof v === 'number' && text.trim() !== '' && Number.isFinite(n)) return cmp(op, v - n);
          if (typeof v === 'string' && bound !== null && !/^-?\d+$/.test(text)) {
            const d = parseDate(v, false);
            if (d !== null) return cmp(op, d - bound);
          }
          return cmp(op, utf8Compare(String(v), text));
        };
      }
    }
  }
}

function some(get: Getter, test: Test): KqlPredicate {
  return (doc) => {
    for (const v of get(doc)) if (test(v)) return true;
    return false;
  };
}

function underNested(types: FieldTypes, name: string): boolean {
  const parts = name.split('.');
  for (let i = parts.length - 1; i > 0; i--) if (types.get(parts.slice(0, i).join('.'))?.has('nested')) return true;
  return false;
}

function dateOf(v: Primitive): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v === 'string') return parseDate(v, false);
  return null;
}

function boolOf(v: Primitive): boolean | null {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false' || v === '') return false;
  return null;
}

function containsRun(have: readonly string[], want: readonly string[]): boolean {
  outer: for (let i = 0; i + want.length <= have.length; i++) {
    for (let j = 0; j < want.length; j++) if (have[i + j] !== want[j]) continue outer;
    return true;
  }
  return false;
}
