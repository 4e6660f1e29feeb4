/**
 * ES|QL runtime values. A column holds null, one value, or a multi-value (an array of two or
 * more; `mv()` normalises). Dates are JS `Date`s, IPs and keywords strings, all numbers JS
 * numbers (whether a number is an integer or a double is decided by the static type the compiler
 * infers, see compile.ts). `FROM` turns an event's `_source` into a row of its leaf fields by
 * dotted name; with field types from `_field_caps` it reads values as Elasticsearch's doc values
 * do (keywords sorted and deduplicated, numbers sorted), which matters to MV_FIRST and MV_LAST.
 */

export type Scalar = string | number | boolean | Date | TimeSpanValue | GeoPoint;

/** A geo_point (ES|QL prints it as WKT `POINT (lon lat)`). */
export class GeoPoint {
  constructor(readonly lon: number, readonly lat: number) {}
  toString(): string {
    return `POINT (${this.lon} ${this.lat})`;
  }
}

/** A geo_point as `_source` may hold it: {lat, lon}, [lon, lat], "lat,lon" or WKT "POINT (lon lat)". */
export function parseGeoPoint(v: unknown): GeoPoint | null {
  if (v instanceof GeoPoint) return v;
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return new GeoPoint(v[0], v[1]);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.lat === 'number' && typeof o.lon === 'number') return new GeoPoint(o.lon, o.lat);
    return null;
  }
  if (typeof v !== 'string') return null;
  const wkt = /^\s*POINT\s*\(\s*(-?[\d.]+(?:[eE][-+]?\d+)?)\s+(-?[\d.]+(?:[eE][-+]?\d+)?)\s*\)\s*$/i.exec(v);
  if (wkt) return new GeoPoint(Number(wkt[1]), Number(wkt[2]));
  const pair = /^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$/.exec(v);
  if (pair) return new GeoPoint(Number(pair[2]), Number(pair[1]));
  return null;
}
export type Value = Scalar | readonly Scalar[] | null;
export type Row = Map<string, Value>;

export class TimeSpanValue {
  constructor(readonly amount: number, readonly unit: string) {}
  /** Fixed length in ms for units up to a week; null for calendar units. */
  fixedMs(): number | null {
    const ms: Record<string, number> = { millisecond: 1, second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 };
    return ms[this.unit] === undefined ? null : ms[this.unit] * this.amount;
  }
}

/** Null for nothing, the value for one, the array for several. */
export function mv(values: readonly Scalar[]): Value {
  if (values.length === 0) return null;
  if (values.length === 1) return values[0];
  return values;
}

export function toList(v: Value): readonly Scalar[] {
  if (v === null) return [];
  return Array.isArray(v) ? (v as readonly Scalar[]) : [v as Scalar];
}

export function isMulti(v: Value): v is readonly Scalar[] {
  return Array.isArray(v);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

export function parseDate(text: string): Date | null {
  if (!ISO_DATE.test(text)) return null;
  const d = new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || text.length <= 10 ? text : `${text}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function toDate(v: Scalar): Date | null {
  if (v instanceof Date) return v;
  if (typeof v === 'number') {
    // Beyond ±8.64e15 ms a JavaScript Date is invalid (and Elasticsearch's range ends there too).
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (typeof v === 'string') return parseDate(v);
  return null;
}

/** Type of a `_field_caps` type for reading a source value. */
type Reader = (v: unknown) => Scalar | null;

const KEYWORDS = new Set(['keyword', 'constant_keyword', 'wildcard', 'version']);
const INTEGERS = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const DOUBLES = new Set(['double', 'float', 'half_float', 'scaled_float']);

type TypedReader = { readonly read: Reader; readonly sortDedupe: 'sort-dedupe' | 'sort' | 'none' };

/** One reader per field's type set (a field caps answer holds one set per field): rows are made per event. */
const readers = new WeakMap<ReadonlySet<string>, TypedReader | null>();

function readerFor(types: ReadonlySet<string> | undefined): TypedReader | null {
  if (!types) return null;
  let r = readers.get(types);
  if (r === undefined) readers.set(types, (r = makeReader(types)));
  return r;
}

function makeReader(types: ReadonlySet<string>): TypedReader | null {
  if (types.size !== 1) return null;
  const [t] = [...types];
  if (KEYWORDS.has(t)) return { read: (v) => (typeof v === 'object' ? null : String(v)), sortDedupe: 'sort-dedupe' };
  if (INTEGERS.has(t) || DOUBLES.has(t)) {
    return { read: (v) => { const n = typeof v === 'number' ? v : Number(v); return typeof v === 'boolean' || Number.isNaN(n) ? null : n; }, sortDedupe: 'sort' };
  }
  if (t === 'date' || t === 'date_nanos') return { read: (v) => (typeof v === 'string' || typeof v === 'number' ? toDate(v) : null), sortDedupe: 'sort' };
  if (t === 'boolean') return { read: (v) => (v === true || v === 'true' ? true : v === false || v === 'false' ? false : null), sortDedupe: 'sort' };
  if (t === 'ip') return { read: (v) => (typeof v === 'string' ? v : null), sortDedupe: 'sort-dedupe' };
  return null;
}

function collectLeaves(value: unknown, path: string, out: Map<string, Scalar[]>, types?: ReadonlyMap<string, ReadonlySet<string>>): void {
  if (value === null || value === undefined) return;
  const geo = types?.get(path)?.has('geo_point') ?? false;
  if (geo && !(Array.isArray(value) && value.length > 0 && typeof value[0] !== 'number')) {
    const point = parseGeoPoint(value);
    if (point) {
      let list = out.get(path);
      if (!list) out.set(path, (list = []));
      list.push(point);
      return;
    }
  }
  if (Array.isArray(value)) {
    for (const v of value) collectLeaves(v, path, out, types);
    return;
  }
  if (typeof value === 'object' && !(value instanceof GeoPoint)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    // Without a mapping, an object of exactly lat and lon numbers is read as a geo_point (ECS *.geo.location).
    if (!types?.has(path) && keys.length === 2 && typeof o.lat === 'number' && typeof o.lon === 'number') {
      collectLeaves(new GeoPoint(o.lon, o.lat) as unknown, path, out, types);
      return;
    }
    for (const [k, v] of Object.entries(o)) collectLeaves(v, path ? `${path}.${k}` : k, out, types);
    return;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && !(value instanceof GeoPoint)) return;
  let list = out.get(path);
  if (!list) out.set(path, (list = []));
  list.push(value);
}

export function compareScalars(a: Scalar, b: Scalar): number {
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The row `FROM` makes of one event: its leaf fields (dotted names, arrays as multi-values) and the requested metadata. */
export function rowFromSource(
  source: Record<string, unknown>,
  metadata: Readonly<Record<string, unknown>>,
  types?: ReadonlyMap<string, ReadonlySet<string>>,
): Row {
  const leaves = new Map<string, Scalar[]>();
  collectLeaves(source, '', leaves, types);
  const row: Row = new Map();
  for (const name of [...leaves.keys()].sort()) {
    let values: Scalar[] = leaves.get(name) ?? [];
    const reader = readerFor(types?.get(name));
    if (reader && values.length === 1) {
      // The common case, one value: nothing to sort or deduplicate.
      const v = reader.read(values[0]);
      values = v === null ? [] : [v];
    } else if (reader) {
      values = values.map(reader.read).filter((v): v is Scalar => v !== null);
      if (reader.sortDedupe !== 'none') values.sort(compareScalars);
      if (reader.sortDedupe === 'sort-dedupe') values = values.filter((v, i) => i === 0 || compareScalars(values[i - 1], v) !== 0);
    } else if (name === '@timestamp') {
      values = values.map((v) => toDate(v) ?? v);
    }
    row.set(name, mv(values));
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v === 'string' || typeof v === 'number') row.set(k, v);
  }
  return row;
}

/** A value as it goes into an alert or a printed table: dates as ISO strings, spans as text. */
export function toJson(v: Value): unknown {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => toJson(x));
  if (v instanceof Date) return v.toISOString();
  if (v instanceof TimeSpanValue) return `${v.amount} ${v.unit}${v.amount === 1 ? '' : 's'}`;
  if (v instanceof GeoPoint) return v.toString();
  return v;
}

/** A row as a plain object for an alert or a printed table (see toJson). */
export function rowToObject(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of row) out[k] = toJson(v);
  return out;
}

/** The ES|QL type name of a value as it stands (without a mapping: `keyword` for strings, `long` or `double` for numbers). */
export function typeOfValue(v: Value): string {
  const x = Array.isArray(v) ? (v as readonly Scalar[])[0] : (v as Scalar | null);
  if (x === null || x === undefined) return 'null';
  if (x instanceof Date) return 'datetime';
  if (x instanceof GeoPoint) return 'geo_point';
  if (x instanceof TimeSpanValue) return x.fixedMs() === null ? 'date_period' : 'time_duration';
  if (typeof x === 'number') return Number.isInteger(x) ? 'long' : 'double';
  if (typeof x === 'boolean') return 'boolean';
  return 'keyword';
}
