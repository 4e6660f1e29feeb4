/**
 * Dates in a mapping's `format` (`"dd-MM-yyyy||epoch_millis"`), for date fields whose values are
 * not in the default formats: the built-in names Elasticsearch documents most (`epoch_millis`,
 * `epoch_second`, `strict_date_optional_time`, `date_optional_time`, `strict_date`, `date`,
 * `basic_date`, `strict_date_time`, `date_time`, `strict_date_hour_minute_second`,
 * `date_hour_minute_second`) and custom Java-style patterns built from `yyyy`/`uuuu`, `MM`, `dd`,
 * `HH`, `mm`, `ss`, `S`... (fraction), `XXX`/`Z` (offset), quoted literals and separators. A
 * format it cannot read is reported by name when the mapping is read.
 */
import { parseEventTime, type EventTime } from '../engine/events.js';
import type { Primitive } from './fields.js';

export type DateParser = (value: Primitive) => EventTime | undefined;

const ISO_NAMES = new Set([
  'strict_date_optional_time', 'date_optional_time', 'strict_date_optional_time_nanos', 'strict_date', 'date',
  'strict_date_time', 'date_time', 'strict_date_hour_minute_second', 'date_hour_minute_second',
  'strict_date_time_no_millis', 'date_time_no_millis',
]);

/** A parser for one format, or undefined when the format is not one this module reads. */
export function dateParser(format: string): DateParser | undefined {
  const f = format.trim();
  if (f === 'epoch_millis') return (v) => (typeof v === 'number' || /^-?\d+(\.\d+)?$/.test(String(v)) ? parseEventTime(typeof v === 'number' ? v : String(v)) : undefined);
  if (f === 'epoch_second') {
    return (v) => {
      const n = typeof v === 'number' ? v : /^-?\d+(\.\d+)?$/.test(String(v)) ? Number(v) : Number.NaN;
      return Number.isFinite(n) ? parseEventTime(n * 1000) : undefined;
    };
  }
  if (ISO_NAMES.has(f)) return (v) => (typeof v === 'string' && (!/^-?\d+(\.\d+)?$/.test(v) || /^\d{4}$/.test(v)) ? parseEventTime(v) : undefined);
  if (f === 'basic_date' || f === 'strict_basic_date') return pattern('yyyyMMdd');
  return pattern(f);
}

/** A parser trying each of `||`-separated formats in turn; undefined when one is unreadable. */
export function dateParserFor(formats: string): DateParser | undefined {
  const parsers = formats.split('||').map(dateParser);
  if (parsers.some((p) => p === undefined)) return undefined;
  return (v) => {
    for (const p of parsers) {
      const t = p!(v);
      if (t) return t;
    }
    return undefined;
  };
}

const TOKENS: readonly [RegExp, string, string][] = [
  [/^(yyyy|uuuu)/, '(\\d{4})', 'year'],
  [/^MM/, '(\\d{2})', 'month'],
  [/^dd/, '(\\d{2})', 'day'],
  [/^HH/, '(\\d{2})', 'hour'],
  [/^mm/, '(\\d{2})', 'minute'],
  [/^ss/, '(\\d{2})', 'second'],
  [/^S{1,9}/, '', 'fraction'],
  [/^(XXX|XX|X|ZZZZZ|Z)/, '(Z|[+-]\\d{2}(?::?\\d{2})?)', 'offset'],
];

function pattern(f: string): DateParser | undefined {
  let re = '';
  const groups: string[] = [];
  let i = 0;
  while (i < f.length) {
    const rest = f.slice(i);
    const c = f[i];
    if (c === "'") {
      const end = f.indexOf("'", i + 1);
      if (end < 0) return undefined;
      re += escape(f.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    const tok = TOKENS.find(([t]) => t.test(rest));
    if (tok) {
      const m = tok[0].exec(rest)![0];
      re += tok[2] === 'fraction' ? `(\\d{${m.length}})` : tok[1];
      groups.push(tok[2]);
      i += m.length;
      continue;
    }
    if (/[A-Za-z]/.test(c)) return undefined; // a pattern letter this module does not read
    re += escape(c);
    i++;
  }
  if (!groups.includes('year')) return undefined;
  const rx = new RegExp(`^${re}$`);
  return (v) => {
    if (typeof v !== 'string') return undefined;
    const m = rx.exec(v);
    if (!m) return undefined;
    const get = (name: string, dflt: string) => {
      const k = groups.indexOf(name);
      return k < 0 ? dflt : m[k + 1];
    };
    const frac = get('fraction', '');
    const offset = get('offset', 'Z');
    const iso = `${get('year', '1970')}-${get('month', '01')}-${get('day', '01')}T${get('hour', '00')}:${get('minute', '00')}:${get('second', '00')}${frac ? `.${frac}` : ''}${offset}`;
    return parseEventTime(iso);
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
