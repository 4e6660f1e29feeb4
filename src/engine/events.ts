/** An event as the engine sees it: where it came from, when it happened, and its document. */
export interface EventRecord {
  readonly index: string;
  readonly id: string;
  /** Epoch milliseconds of the rule's timestamp field (whole milliseconds, rounded down). */
  readonly timestamp: number;
  /** Nanoseconds within that millisecond (0 to 999,999) when the timestamp has them; orders events. */
  readonly nanos?: number;
  readonly source: Readonly<Record<string, unknown>>;
}

/** What a correlation measured when it fired. */
export interface CorrelationResult {
  readonly type: string;
  /** The count, distinct count or aggregate that met the condition. */
  readonly value: number;
  /** Events in the window (the match lists at most 100 of them). */
  readonly events: number;
  readonly group: Readonly<Record<string, string | number | boolean | null>>;
  readonly timespanMs: number;
}

/** What a rule matched: one event for an event query, the ordered events of a sequence. */
export interface RuleMatch {
  readonly events: readonly EventRecord[];
  /**
   * Join key values of a sequence or sample, or the group of a correlation (empty for an event
   * query). null: an optional key (`by ?field`) whose field is missing or null.
   */
  readonly joinKeys: readonly (string | number | boolean | null)[];
  readonly correlation?: CorrelationResult;
  /** A match from an aggregation (rules/language.ts AggregatedQuery): what the alert id is made of. */
  readonly entity?: MatchEntity;
}

/** The entity an aggregated match stands for: its key is the alert id's input, so the same bucket is alerted once. */
export interface MatchEntity {
  /** A stable key of the entity within the rule (e.g. the bucket's terms as JSON). */
  readonly key: string;
  /** What the alert records about it (`lookout.entity`; e.g. terms, count). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The time the alert gives as `kibana.alert.original_time` (epoch ms), e.g. the bucket's first event. */
  readonly timestamp: number;
  /** Fields the alert carries as Kibana's rule type writes them (`kibana.alert.threshold_result`, `kibana.alert.new_terms`). */
  readonly alertFields?: Readonly<Record<string, unknown>>;
}

/** A point in time: epoch milliseconds (rounded down) and the nanoseconds within that millisecond. */
export interface EventTime {
  readonly ms: number;
  readonly nanos: number;
}

/**
 * ISO 8601 as Elasticsearch's `strict_date_optional_time` reads it: a four-digit year, optionally
 * month and day, optionally a time with a fraction of up to nine digits, optionally an offset
 * (none means UTC).
 */
const ISO = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const EPOCH = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses an event timestamp in the forms Elasticsearch's date fields accept by default
 * (`strict_date_optional_time||epoch_millis`): ISO 8601 with any fraction down to nanoseconds,
 * epoch milliseconds as a number or a string, and fractional epoch milliseconds as a string
 * (`"131485996510.239400"`, what a `date_nanos` field indexed that way keeps in `_source`).
 * Anything else is undefined (the caller counts and reports the event).
 */
export function parseEventTime(value: unknown): EventTime | undefined {
  const t = parseAnyTime(value);
  // Beyond what a Date holds (about 275,000 years either side of 1970): not a usable time.
  return t !== undefined && Math.abs(t.ms) <= MAX_DATE_MS ? t : undefined;
}

const MAX_DATE_MS = 8.64e15;

/** ISO 8601 text of an event's time, with its nanoseconds when it has them. */
export function eventTimeText(e: Pick<EventRecord, 'timestamp' | 'nanos'>): string {
  const iso = new Date(e.timestamp).toISOString();
  return e.nanos ? `${iso.slice(0, -1)}${String(e.nanos).padStart(6, '0')}Z` : iso;
}

function parseAnyTime(value: unknown): EventTime | undefined {
  if (Array.isArray(value)) return value.length > 0 ? parseAnyTime(value[0]) : undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const ms = Math.floor(value);
    return { ms, nanos: Math.round((value - ms) * 1e6) % 1e6 };
  }
  if (typeof value !== 'string' || value === '') return undefined;
  const fast = canonicalMs(value);
  if (fast !== undefined) return { ms: fast, nanos: 0 };
  // The date format first, as Elasticsearch tries them: "2017" is a year, "20170" epoch milliseconds.
  const m = ISO.exec(value);
  if (!m) {
    const epoch = EPOCH.exec(value);
    return epoch ? epochString(epoch[1] === '-', epoch[2], epoch[3] ?? '') : undefined;
  }
  const [, y, mo = '01', d = '01', h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1) return undefined; // 2023-02-30
  date.setUTCHours(hour, minute, second, 0);
  let offsetMin = 0;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 18 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  const digits = frac.padEnd(9, '0');
  return { ms: date.getTime() - offsetMin * 60_000 + Number(digits.slice(0, 3)), nanos: Number(digits.slice(3)) };
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, the form Elasticsearch and most shippers write, read digit by digit
 * (several times faster than the general parser); undefined sends anything else to the general
 * parser, which refuses a day the month does not have (Date.UTC would roll it over), and years
 * before 100 (which Date.UTC would read as 19xx).
 */
function canonicalMs(v: string): number | undefined {
  if (v.length !== 24 || v.charCodeAt(23) !== 90 /* Z */ || v.charCodeAt(10) !== 84 /* T */ || v.charCodeAt(19) !== 46 /* . */ ||
    v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return undefined;
  const year = digitsAt(v, 0, 4);
  const month = digitsAt(v, 5, 2);
  const day = digitsAt(v, 8, 2);
  const hour = digitsAt(v, 11, 2);
  const minute = digitsAt(v, 14, 2);
  const second = digitsAt(v, 17, 2);
  const ms = digitsAt(v, 20, 3);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

function daysIn(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number `len` digits at `at` spell, or -1 if one is not a digit. */
function digitsAt(v: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function epochString(negative: boolean, whole: string, frac: string): EventTime | undefined {
  const w = Number(whole);
  if (!Number.isSafeInteger(w)) return undefined;
  const nanos = Number(frac.padEnd(6, '0').slice(0, 6));
  if (!negative) return { ms: w, nanos };
  return nanos === 0 ? { ms: -w, nanos: 0 } : { ms: -w - 1, nanos: 1e6 - nanos };
}

/** Epoch milliseconds of a timestamp (see parseEventTime), or undefined. */
export function parseTimestamp(value: unknown): number | undefined {
  return parseEventTime(value)?.ms;
}

/**
 * Whether the time from `first` to `last` exceeds `maxspanMs`, to the nanosecond where the
 * timestamps have them (Elasticsearch measures maxspan in nanoseconds).
 */
export function spanExceeds(first: EventRecord, last: EventRecord, maxspanMs: number): boolean {
  const d = last.timestamp - first.timestamp;
  if (d !== maxspanMs) return d > maxspanMs;
  return (last.nanos ?? 0) > (first.nanos ?? 0);
}
