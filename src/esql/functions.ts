/**
 * ES|QL scalar functions, each as Elasticsearch documents it. A function that is not
 * multi-value aware returns null with a warning when an argument is multi-valued, and null when
 * an argument is null; MV_ functions, COALESCE, CASE and the TO_ conversions (applied per value)
 * take multi-values. Unknown names are refused by the compiler with "not supported: NAME".
 */
import { javaRegex, PatternError } from './regex.js';
import { compareScalars, GeoPoint, isMulti, mv, parseGeoPoint, type Scalar, TimeSpanValue, toDate, toList, type Value } from './values.js';

export interface FnContext {
  readonly now: Date;
  warn(message: string): void;
}

export interface ScalarFunction {
  readonly min: number;
  readonly max: number;
  /** Takes multi-values and nulls itself (no automatic null/multi-value handling). */
  readonly raw?: boolean;
  /** The result is a double (for integer vs double arithmetic). */
  readonly double?: boolean;
  /** Arguments that must be constants (patterns, units), by index. */
  readonly constantArgs?: readonly number[];
  call(args: readonly Value[], ctx: FnContext): Value;
}

const str = (v: Value): string => (typeof v === 'string' ? v : scalarToString(v as Scalar));

/** TO_STRING of one value: dates as ISO 8601 with milliseconds, numbers as written. */
export function scalarToString(v: Scalar, double = false): string {
  if (v instanceof Date) return v.toISOString();
  if (v instanceof TimeSpanValue) return `${v.amount} ${v.unit}s`;
  if (typeof v === 'number' && double && Number.isInteger(v)) return `${v}.0`;
  return String(v);
}

function perValue(f: (v: Scalar, ctx: FnContext) => Scalar | null): ScalarFunction {
  return {
    min: 1, max: 1, raw: true,
    call: ([v], ctx) => {
      const out: Scalar[] = [];
      for (const x of toList(v)) {
        const y = f(x, ctx);
        if (y !== null) out.push(y);
      }
      return mv(out);
    },
  };
}

function toNumber(v: Scalar, ctx: FnContext, integer: boolean): number | null {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (v instanceof Date) n = v.getTime();
  else if (typeof v === 'string') {
    const t = v.trim();
    n = t === '' ? Number.NaN : Number(t);
    if (Number.isNaN(n)) {
      ctx.warn(`Cannot parse number [${v}]`);
      return null;
    }
  } else return null;
  if (!integer) return n;
  const i = Math.trunc(n);
  if (!Number.isSafeInteger(i)) {
    ctx.warn(`[${n}] out of range for an integer`);
    return null;
  }
  return i;
}

export function parseIp(text: string): number[] | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return null;
    return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...parts];
  }
  if (!text.includes(':')) return null;
  let t = text;
  let tail: number[] = [];
  const embedded = /:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(t);
  if (embedded) {
    const v = parseIp(embedded[1]);
    if (!v) return null;
    tail = v.slice(12);
    t = `${t.slice(0, embedded.index + 1)}0:0`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : fill < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 255);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function formatIp(bytes: number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // Compress the longest run of zero groups (of two or more).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function cidrContains(ip: number[], cidr: string): boolean {
  const [addr, bitsText] = cidr.split('/');
  const net = parseIp(addr);
  if (!net) return false;
  const isV4 = /^\d+\.\d+\.\d+\.\d+$/.test(addr);
  let bits = bitsText === undefined ? 128 : Number(bitsText) + (isV4 ? 96 : 0);
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) return false;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 255 : (0xff << (8 - bits)) & 255;
    if ((ip[i] & mask) !== (net[i] & mask)) return false;
  }
  return true;
}

const DIFF_UNITS: Record<string, string> = {
  year: 'year', years: 'year', yy: 'year', yyyy: 'year',
  quarter: 'quarter', quarters: 'quarter', qq: 'quarter', q: 'quarter',
  month: 'month', months: 'month', mm: 'month', m: 'month',
  dayofyear: 'day', dy: 'day', y: 'day',
  day: 'day', days: 'day', dd: 'day', d: 'day',
  week: 'week', weeks: 'week', wk: 'week', ww: 'week',
  weekday: 'day', weekdays: 'day', dw: 'day',
  hour: 'hour', hours: 'hour', hh: 'hour',
  minute: 'minute', minutes: 'minute', mi: 'minute', n: 'minute',
  second: 'second', seconds: 'second', ss: 'second', s: 'second',
  millisecond: 'millisecond', milliseconds: 'millisecond', ms: 'millisecond',
  microsecond: 'microsecond', microseconds: 'microsecond', mcs: 'microsecond',
  nanosecond: 'nanosecond', nanoseconds: 'nanosecond', ns: 'nanosecond',
};

function monthsBetween(a: Date, b: Date): number {
  let months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  // Whole months only: step back when the end's day-and-time is before the start's.
  const shifted = new Date(a.getTime());
  shifted.setUTCMonth(a.getUTCMonth() + months);
  if (months > 0 && shifted.getTime() > b.getTime()) months--;
  else if (months < 0 && shifted.getTime() < b.getTime()) months++;
  return months;
}

export function dateDiff(unit: string, a: Date, b: Date): number | null {
  const u = DIFF_UNITS[unit.toLowerCase()];
  if (!u) return null;
  const ms = b.getTime() - a.getTime();
  const fixed: Record<string, number> = { week: 6.048e8, day: 8.64e7, hour: 3.6e6, minute: 6e4, second: 1e3, millisecond: 1, microsecond: 1e-3, nanosecond: 1e-6 };
  if (fixed[u] !== undefined) return Math.trunc(ms / fixed[u]);
  const months = monthsBetween(a, b);
  if (u === 'month') return months;
  if (u === 'quarter') return Math.trunc(months / 3);
  return Math.trunc(months / 12);
}

export function dateTrunc(span: TimeSpanValue, d: Date): Date | null {
  const fixed = span.fixedMs();
  if (span.unit === 'week') {
    // Weeks start on Monday (ISO); 1970-01-05 is a Monday.
    const monday = Date.UTC(1970, 0, 5);
    const size = 6.048e8 * span.amount;
    return new Date(monday + Math.floor((d.getTime() - monday) / size) * size);
  }
  if (span.unit === 'day' && span.amount === 1) return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  if (fixed !== null) {
    if (fixed <= 0) return null;
    return new Date(Math.floor(d.getTime() / fixed) * fixed);
  }
  const months = span.unit === 'month' ? span.amount : span.unit === 'quarter' ? span.amount * 3 : span.amount * 12;
  if (months <= 0) return null;
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth();
  const floored = Math.floor(total / months) * months;
  return new Date(Date.UTC(Math.floor(floored / 12), floored % 12, 1));
}

function jsonPath(path: string): (string | number)[] | null {
  let p = path.trim();
  if (p === '$') return [];
  if (p.startsWith('$')) p = p.slice(1);
  const out: (string | number)[] = [];
  const re = /\.?([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while (consumed < p.length && (m = re.exec(p)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3] ?? m[4]);
    consumed = re.lastIndex;
  }
  return consumed === p.length ? out : null;
}

function concatArgs(args: readonly Value[]): Value {
  return args.map(str).join('');
}

export const FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  COALESCE: {
    min: 1, max: Infinity, raw: true,
    call: (args) => args.find((a) => a !== null) ?? null,
  },
  CASE: {
    min: 1, max: Infinity, raw: true,
    call: (args, ctx) => {
      let i = 0;
      for (; i + 1 < args.length; i += 2) {
        const c = args[i];
        if (isMulti(c)) ctx.warn('CASE condition is multi-valued: treated as false');
        else if (c === true) return args[i + 1];
      }
      return i < args.length ? args[i] : null;
    },
  },
  CONCAT: { min: 2, max: Infinity, call: concatArgs },
  TO_LOWER: { ...perValue((v) => str(v).toLowerCase()) },
  TO_UPPER: { ...perValue((v) => str(v).toUpperCase()) },
  TO_STRING: { ...perValue((v) => scalarToString(v)) },
  TO_DOUBLE: { ...perValue((v, ctx) => toNumber(v, ctx, false)), double: true },
  TO_INTEGER: perValue((v, ctx) => {
    const n = toNumber(v, ctx, true);
    if (n !== null && (n > 2147483647 || n < -2147483648)) {
      ctx.warn(`[${n}] out of [integer] range`);
      return null;
    }
    return n;
  }),
  TO_LONG: perValue((v, ctx) => toNumber(v, ctx, true)),
  TO_BOOLEAN: perValue((v) => (typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : String(v).toLowerCase() === 'true')),
  TO_DATETIME: perValue((v, ctx) => {
    const d = toDate(v);
    if (d === null) ctx.warn(`Cannot parse date [${String(v)}]`);
    return d;
  }),
  TO_IP: perValue((v, ctx) => {
    const bytes = typeof v === 'string' ? parseIp(v) : null;
    if (!bytes) {
      ctx.warn(`'${String(v)}' is not an IP string literal.`);
      return null;
    }
    return formatIp(bytes);
  }),
  CIDR_MATCH: {
    min: 2, max: Infinity, raw: true,
    call: ([ip, ...blocks], ctx) => {
      if (ip === null) return null;
      if (isMulti(ip)) {
        ctx.warn('CIDR_MATCH on a multi-valued ip: null');
        return null;
      }
      const bytes = parseIp(str(ip));
      if (!bytes) return null;
      return blocks.flatMap((b) => toList(b)).some((b) => cidrContains(bytes, str(b)));
    },
  },
  REPLACE: {
    min: 3, max: 3,
    call: ([s, pattern, replacement], ctx) => {
      let re: RegExp;
      try {
        re = javaRegex(str(pattern), 'g').re;
      } catch (err) {
        ctx.warn(err instanceof PatternError ? err.message : String(err));
        return null;
      }
      // Java's replacement: $n and ${name} refer to groups, \ escapes; JavaScript's $n matches for $n.
      const js = str(replacement).replace(/\\(.)|\$(\d)|\$/g, (m: string, esc?: string, group?: string) => (esc !== undefined ? (esc === '$' ? '$$' : esc) : group !== undefined ? m : '$$'));
      return str(s).replace(re, js);
    },
  },
  LENGTH: { min: 1, max: 1, call: ([s]) => [...str(s)].length },
  TRIM: { min: 1, max: 1, call: ([s]) => str(s).replace(/^[\s]+|[\s]+$/g, '') },
  LTRIM: { min: 1, max: 1, call: ([s]) => str(s).replace(/^[\s]+/, '') },
  RTRIM: { min: 1, max: 1, call: ([s]) => str(s).replace(/[\s]+$/, '') },
  STARTS_WITH: { min: 2, max: 2, call: ([s, p]) => str(s).startsWith(str(p)) },
  ENDS_WITH: { min: 2, max: 2, call: ([s, p]) => str(s).endsWith(str(p)) },
  CONTAINS: { min: 2, max: 2, call: ([s, p]) => str(s).includes(str(p)) },
  LOCATE: {
    min: 2, max: 3,
    call: ([s, sub, start]) => {
      const cps = [...str(s)];
      const subCps = [...str(sub)];
      let from = start === undefined || start === null ? 0 : Math.max(0, Number(start) - 1);
      for (; from + subCps.length <= cps.length; from++) {
        if (subCps.every((c, i) => cps[from + i] === c)) return from + 1;
      }
      return 0;
    },
  },
  SUBSTRING: {
    min: 2, max: 3,
    call: ([s, start, length]) => {
      const cps = [...str(s)];
      let from = Number(start);
      from = from < 0 ? Math.max(0, cps.length + from) : Math.max(0, from - 1);
      const len = length === undefined || length === null ? cps.length : Number(length);
      return cps.slice(from, from + Math.max(0, len)).join('');
    },
  },
  SPLIT: {
    min: 2, max: 2,
    call: ([s, d]) => {
      const delim = str(d);
      return mv(delim === '' ? [...str(s)] : str(s).split(delim));
    },
  },
  URL_DECODE: {
    min: 1, max: 1,
    call: ([s], ctx) => {
      try {
        return decodeURIComponent(str(s).replace(/\+/g, ' '));
      } catch {
        ctx.warn(`URL_DECODE: cannot decode [${str(s)}]`);
        return null;
      }
    },
  },
  URL_ENCODE: { min: 1, max: 1, call: ([s]) => encodeURIComponent(str(s)).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) },
  FROM_BASE64: {
    min: 1, max: 1,
    call: ([s]) => Buffer.from(str(s), 'base64').toString('utf8'),
  },
  TO_BASE64: { min: 1, max: 1, call: ([s]) => Buffer.from(str(s), 'utf8').toString('base64') },
  SPACE: {
    min: 1, max: 1,
    call: ([n], ctx) => {
      const k = Number(n);
      if (!Number.isInteger(k) || k < 0 || k > 1048576) {
        ctx.warn(`SPACE: invalid count [${String(n)}]`);
        return null;
      }
      return ' '.repeat(k);
    },
  },
  ABS: { min: 1, max: 1, call: ([n]) => Math.abs(Number(n)) },
  ROUND: {
    min: 1, max: 2,
    call: ([n, d]) => {
      const x = Number(n);
      const digits = d === undefined || d === null ? 0 : Number(d);
      const f = 10 ** digits;
      return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
    },
  },
  NOW: { min: 0, max: 0, call: (_a, ctx) => ctx.now },
  DATE_DIFF: {
    min: 3, max: 3, constantArgs: [0],
    call: ([unit, a, b], ctx) => {
      const x = toDate(a as Scalar);
      const y = toDate(b as Scalar);
      if (!x || !y) return null;
      const r = dateDiff(str(unit), x, y);
      if (r === null) ctx.warn(`DATE_DIFF: unknown unit [${str(unit)}]`);
      return r;
    },
  },
  DATE_TRUNC: {
    min: 2, max: 2,
    call: ([span, d]) => {
      const date = toDate(d as Scalar);
      if (!date || !(span instanceof TimeSpanValue)) return null;
      const out = dateTrunc(span, date);
      return out && !Number.isNaN(out.getTime()) ? out : null;
    },
  },
  DATE_EXTRACT: {
    min: 2, max: 2,
    call: ([part, d]) => {
      const date = toDate(d as Scalar);
      if (!date) return null;
      const p = str(part).toUpperCase();
      const parts: Record<string, number> = {
        YEAR: date.getUTCFullYear(), MONTH_OF_YEAR: date.getUTCMonth() + 1, DAY_OF_MONTH: date.getUTCDate(),
        HOUR_OF_DAY: date.getUTCHours(), MINUTE_OF_HOUR: date.getUTCMinutes(), SECOND_OF_MINUTE: date.getUTCSeconds(),
        DAY_OF_WEEK: ((date.getUTCDay() + 6) % 7) + 1,
      };
      return parts[p] ?? null;
    },
  },
  JSON_EXTRACT: {
    min: 2, max: 2,
    call: ([s, path], ctx) => {
      let doc: unknown;
      try {
        doc = JSON.parse(str(s));
      } catch {
        ctx.warn('JSON_EXTRACT: the input is not valid JSON');
        return null;
      }
      const steps = jsonPath(str(path));
      if (steps === null) {
        ctx.warn(`JSON_EXTRACT: invalid path [${str(path)}]`);
        return null;
      }
      for (const step of steps) {
        if (doc === null || typeof doc !== 'object') return null;
        doc = (doc as Record<string | number, unknown>)[step];
        if (doc === undefined) return null;
      }
      if (doc === null) return null;
      return typeof doc === 'string' ? doc : JSON.stringify(doc);
    },
  },
  TO_GEOPOINT: perValue((v, ctx) => {
    const p = parseGeoPoint(v);
    if (p === null) ctx.warn(`TO_GEOPOINT: cannot parse [${String(v)}]`);
    return p;
  }),
  ST_X: { min: 1, max: 1, call: ([p]) => (p instanceof GeoPoint ? p.lon : null) },
  ST_Y: { min: 1, max: 1, call: ([p]) => (p instanceof GeoPoint ? p.lat : null) },
  ST_DISTANCE: {
    min: 2, max: 2, double: true,
    call: ([a, b]) => {
      if (!(a instanceof GeoPoint) || !(b instanceof GeoPoint)) return null;
      // Great-circle (haversine) distance in meters on Elasticsearch's mean earth radius.
      const rad = Math.PI / 180;
      const dLat = (b.lat - a.lat) * rad;
      const dLon = (b.lon - a.lon) * rad;
      const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
      return 2 * 6371008.7714 * Math.asin(Math.min(1, Math.sqrt(h)));
    },
  },
  MV_FIRST: { min: 1, max: 1, raw: true, call: ([v]) => toList(v)[0] ?? null },
  MV_LAST: { min: 1, max: 1, raw: true, call: ([v]) => toList(v).at(-1) ?? null },
  MV_COUNT: { min: 1, max: 1, raw: true, call: ([v]) => (v === null ? null : toList(v).length) },
  MV_MIN: { min: 1, max: 1, raw: true, call: ([v]) => toList(v).reduce<Scalar | null>((m, x) => (m === null || compareScalars(x, m) < 0 ? x : m), null) },
  MV_MAX: { min: 1, max: 1, raw: true, call: ([v]) => toList(v).reduce<Scalar | null>((m, x) => (m === null || compareScalars(x, m) > 0 ? x : m), null) },
  MV_SUM: { min: 1, max: 1, raw: true, call: ([v]) => (v === null ? null : toList(v).reduce<number>((s, x) => s + Number(x), 0)) },
  MV_CONCAT: {
    min: 2, max: 2, raw: true,
    call: ([v, d]) => (v === null || d === null || isMulti(d) ? null : toList(v).map((x) => scalarToString(x)).join(str(d))),
  },
  MV_DEDUPE: {
    min: 1, max: 1, raw: true,
    call: ([v]) => {
      const seen = new Set<string>();
      return mv(toList(v).filter((x) => {
        const k = key(x);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }));
    },
  },
  MV_SLICE: {
    min: 2, max: 3, raw: true,
    call: ([v, s, e], ctx) => {
      if (v === null || s === null || isMulti(s) || isMulti(e ?? null)) return null;
      const list = toList(v);
      const n = list.length;
      let start = Number(s);
      let end = e === undefined || e === null ? start : Number(e);
      if (start < 0) start += n;
      if (end < 0) end += n;
      if ((Number(s) < 0) !== (Number(e ?? s) < 0)) {
        ctx.warn('MV_SLICE: start and end must have the same sign');
        return null;
      }
      if (start > end) {
        ctx.warn('MV_SLICE: start is after end');
        return null;
      }
      return mv(list.slice(Math.max(0, start), end + 1));
    },
  },
  MV_INTERSECTION: {
    min: 2, max: 2, raw: true,
    call: ([a, b]) => {
      if (a === null || b === null) return null;
      const right = new Set(toList(b).map(key));
      const seen = new Set<string>();
      return mv(toList(a).filter((x) => {
        const k = key(x);
        if (!right.has(k) || seen.has(k)) return false;
        seen.add(k);
        return true;
      }));
    },
  },
  MV_CONTAINS: {
    min: 2, max: 2, raw: true,
    call: ([superset, subset]) => {
      const have = new Set(toList(superset).map(key));
      return toList(subset).every((x) => have.has(key(x)));
    },
  },
};

/** A key for set membership: type-tagged so "1" and 1 differ, dates by instant. */
export function key(v: Scalar): string {
  if (v instanceof Date) return `d${v.getTime()}`;
  if (v instanceof GeoPoint) return `g${v.lon},${v.lat}`;
  if (v instanceof TimeSpanValue) return `t${v.amount}${v.unit}`;
  return `${typeof v}:${String(v)}`;
}

/** Functions Elasticsearch has that Lookout refuses (named in the reason). */
export const KNOWN_UNSUPPORTED = new Set(['COMPLETION', 'ST_INTERSECTS', 'ST_CONTAINS', 'ST_WITHIN', 'ST_CENTROID_AGG', 'ST_EXTENT_AGG', 'TO_GEOSHAPE', 'TO_CARTESIANPOINT', 'RERANK', 'QSTR', 'SCORE', 'KNN', 'TERM', 'CATEGORIZE', 'BUCKET', 'PERCENTILE', 'MEDIAN', 'MEDIAN_ABSOLUTE_DEVIATION', 'STD_DEV', 'WEIGHTED_AVG', 'RATE']);

export function isMultiValue(v: Value): boolean {
  return isMulti(v);
}
