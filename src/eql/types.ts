/**
 * Field types, for comparing as Elasticsearch does: it compares by the field's mapping, not by
 * the JSON value. A `date` field compares with date strings as points in time, a `version` field
 * orders as versions (`1.10.0 > 1.9.0`), an `ip` field compares as addresses (`::ffff:10.0.0.1`
 * is `10.0.0.1`), a numeric field holds numbers even when `_source` has strings, and a field's
 * `null_value` stands in for an explicit null. Join keys are normalised the same way, so two
 * formats of one date join. Types come from `_field_caps` at execution and from a mapping file
 * in `test-rule --mapping`; without them values compare by their own JSON type.
 */
import { parseEventTime } from '../engine/events.js';
import { dateParserFor, type DateParser } from './date-format.js';
import type { Getter, Primitive } from './fields.js';

export interface FieldType {
  /** The Elasticsearch field type: `date`, `date_nanos`, `ip`, `version`, `long`, `keyword`, ... */
  readonly type: string;
  /** The mapping's `null_value`: indexed (and so compared) in place of an explicit null. */
  readonly nullValue?: Primitive;
  /** A date field's `format` (`"dd-MM-yyyy||epoch_millis"`); default: the default formats. */
  readonly format?: string;
}

const parsers = new WeakMap<FieldType, DateParser>();

/** How a date field's values read: its mapping's format, else the default formats. */
function dateOf(ft: FieldType): DateParser {
  let p = parsers.get(ft);
  if (!p) {
    p = (ft.format !== undefined ? dateParserFor(ft.format) : undefined) ?? parseEventTime;
    parsers.set(ft, p);
  }
  return p;
}

/** Types by dotted field path. A field whose indices disagree on its type is left out. */
export type FieldTypeMap = ReadonlyMap<string, FieldType>;

const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
const KEYWORD = new Set(['keyword', 'constant_keyword', 'wildcard']);

/** Whether join keys of this type are normalised (so the rule is worth compiling with types). */
export function normalisesKeys(type: string): boolean {
  return isTypedComparison(type) || NUMERIC.has(type) || KEYWORD.has(type) || type === 'boolean';
}

/** Whether comparisons on this type differ from comparing the JSON values. */
export function isTypedComparison(type: string): boolean {
  return type === 'date' || type === 'date_nanos' || type === 'ip' || type === 'version';
}

/** Orders two values of the type: negative, zero, positive; undefined when one is not of the type. */
export type TypedCompare = (a: Primitive, b: Primitive) => number | undefined;

export function comparatorFor(ft: FieldType): TypedCompare | undefined {
  const type = ft.type;
  if (type === 'date' || type === 'date_nanos') {
    const parse = dateOf(ft);
    return (a, b) => {
      const x = parse(a);
      const y = parse(b);
      return x && y ? x.ms - y.ms || x.nanos - y.nanos : undefined;
    };
  }
  if (type === 'ip') {
    return (a, b) => {
      const x = ipBytes(String(a));
      const y = ipBytes(String(b));
      return x && y ? (x < y ? -1 : x > y ? 1 : 0) : undefined;
    };
  }
  if (type === 'version') return (a, b) => compareVersions(String(a), String(b));
  return undefined;
}

/** Whether a literal can be compared with a field of this type (refused at compile time if not). */
export function literalFits(ft: FieldType, lit: Primitive): boolean {
  const type = ft.type;
  if (type === 'date' || type === 'date_nanos') return typeof lit !== 'boolean' && dateOf(ft)(lit) !== undefined;
  if (type === 'ip') return typeof lit === 'string' && ipBytes(lit) !== undefined;
  if (type === 'version') return typeof lit === 'string';
  return true;
}

/** A join key value in the type's canonical form: epoch milliseconds for dates, an address's usual text, a number for numeric types. */
export function normaliseKey(ft: FieldType, v: Primitive): Primitive {
  const type = ft.type;
  if (type === 'date' || type === 'date_nanos') {
    const t = dateOf(ft)(v);
    if (!t) return v;
    return t.nanos === 0 ? String(t.ms) : `${t.ms}.${String(t.nanos).padStart(6, '0')}`;
  }
  if (type === 'ip') {
    const b = ipBytes(String(v));
    return b ? ipText(b) : v;
  }
  if (NUMERIC.has(type) && typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : v;
  }
  // A keyword field indexes the text of a number or boolean: 1 and "1" are one key.
  if (KEYWORD.has(type) && typeof v !== 'string') return String(v);
  if (type === 'boolean' && typeof v === 'string') return v === 'true' ? true : v === 'false' ? false : v;
  return v;
}

/** A getter whose values are normalised for the type, with null_value for an explicit null. */
export function typedGetter(path: string, get: Getter, ft: FieldType | undefined, normalise: boolean): Getter {
  if (!ft) return get;
  const withNull = ft.nullValue === undefined ? get : nullValueGetter(path, get, ft.nullValue);
  if (!normalise || !normalisesKeys(ft.type)) return withNull;
  const type = ft.type;
  if (KEYWORD.has(type)) {
    // The usual case, strings already: no copy.
    return (doc) => {
      const values = withNull(doc);
      for (const v of values) if (typeof v !== 'string') return values.map(String);
      return values;
    };
  }
  return (doc) => withNull(doc).map((v) => normaliseKey(ft, v));
}

function nullValueGetter(path: string, get: Getter, nullValue: Primitive): Getter {
  const parts = path.split('.');
  const replacement = [nullValue];
  return (doc) => {
    const values = get(doc);
    return values.length === 0 && hasExplicitNull(doc, parts, 0) ? replacement : values;
  };
}

/** Whether the document holds an explicit null (or an array with one) at the path. */
function hasExplicitNull(node: unknown, parts: readonly string[], i: number): boolean {
  if (i === parts.length) return node === null || (Array.isArray(node) && node.includes(null));
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((n) => hasExplicitNull(n, parts, i));
  const obj = node as Record<string, unknown>;
  for (let j = i; j < parts.length; j++) {
    const key = parts.slice(i, j + 1).join('.');
    if (key in obj && hasExplicitNull(obj[key], parts, j + 1)) return true;
  }
  return false;
}

/** An address as a 32-digit hex string (IPv4 as IPv4-mapped IPv6), or undefined. */
export function ipBytes(text: string): string | undefined {
  const v4 = (s: string): number[] | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) return undefined;
    const b = m.slice(1).map(Number);
    return b.every((x) => x <= 255) ? b : undefined;
  };
  const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  const four = v4(text);
  if (four) return hex([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...four]);
  let s = text.toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!/^[0-9a-f:.]+$/.test(s) || (s.match(/::/g) ?? []).length > 1) return undefined;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const embedded = v4(s.slice(lastColon + 1));
    if (!embedded) return undefined;
    tail = [(embedded[0] << 8) | embedded[1], (embedded[2] << 8) | embedded[3]];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const groups = (g: string) => (g === '' ? [] : g.split(':'));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  if ([...h, ...r].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const total = h.length + r.length + tail.length;
  if (rest === undefined ? total !== 8 : total > 7) return undefined;
  const words = [...h.map((g) => parseInt(g, 16)), ...new Array<number>(8 - total).fill(0), ...r.map((g) => parseInt(g, 16)), ...tail];
  return words.map((w) => w.toString(16).padStart(4, '0')).join('');
}

/** The usual text of an address: dotted for IPv4 (and IPv4-mapped), compressed IPv6 otherwise. */
export function ipText(bytes: string): string {
  if (bytes.startsWith('00000000000000000000ffff')) {
    return [24, 26, 28, 30].map((i) => parseInt(bytes.slice(i, i + 2), 16)).join('.');
  }
  const words = Array.from({ length: 8 }, (_, i) => parseInt(bytes.slice(i * 4, i * 4 + 4), 16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * Semantic-version order, as the `version` field type sorts: numeric parts numerically, a
 * pre-release before its release, pre-release identifiers numeric before alphanumeric; build
 * metadata ignored. A value that is not a version sorts after every version, by its text.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) {
    if (pa) return -1;
    if (pb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  for (let i = 0; i < Math.max(pa.nums.length, pb.nums.length); i++) {
    const x = pa.nums[i] ?? -1;
    const y = pb.nums[i] ?? -1;
    if (x !== y) return x - y;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function parseVersion(v: string): { nums: number[]; pre: string[] } | undefined {
  const m = /^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) return undefined;
  return { nums: m[1].split('.').map(Number), pre: m[2] ? m[2].split('.') : [] };
}
