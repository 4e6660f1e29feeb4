/**
 * Date math, in two grammars over one arithmetic (calendar units and rounding in UTC):
 *
 * - parseDateMath: the server's, for range bounds (KQL evaluates them as Elasticsearch does);
 * - resolveDateMath: Kibana's (@kbn/datemath), for the date math rules carry in their own
 *   parameters (`history_window_start = "now-7d"`, an indicator index's `from`), which Kibana
 *   resolves itself before it asks the server anything.
 *
 * Elasticsearch date math for date fields with the default format
 * (`strict_date_optional_time||epoch_millis`) in UTC, as the server applies it to the range
 * bounds Kibana sends: `now` or `<date>||` followed by `+N<unit>`, `-N<unit>` and `/<unit>`
 * (units y M w d h H m s). A bound parsed "rounding up" (`gt` and `lte`) takes the last
 * millisecond of the time of day it leaves out (`lte 2020-01-01` is the end of that day; but
 * `lte 2020-01` the end of its first day, as the server parses it) and of a rounded unit
 * (`lte now/M` the end of this month); `gte` and `lt` take the first. Returns null for text the
 * server would refuse.
 */

const ISO = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;
const EPOCH = /^-?\d+$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A date in the default format; null when it is not one. */
export function parseDate(text: string, roundUp: boolean): number | null {
  const m = ISO.exec(text);
  if (m) {
    const year = Number(m[1]);
    // Rounding up fills the time of day only: a missing month or day is the first, as the
    // server's round-up parser defaults them (so `lte 2024-05` ends on 2024-05-01, measured).
    const month = m[2] === undefined ? 1 : Number(m[2]);
    if (month < 1 || month > 12) return null;
    const maxDay = daysIn(year, month);
    const day = m[3] === undefined ? 1 : Number(m[3]);
    if (day < 1 || day > maxDay) return null;
    const hour = m[4] === undefined ? (roundUp ? 23 : 0) : Number(m[4]);
    const minute = m[5] === undefined ? (roundUp ? 59 : 0) : Number(m[5]);
    const second = m[6] === undefined ? (roundUp ? 59 : 0) : Number(m[6]);
    if (hour > 23 || minute > 59 || second > 59) return null;
    const frac = m[7] === undefined ? '' : m[7];
    const ms = Number((frac + (roundUp ? '999' : '000')).slice(0, 3));
    let t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    if (year < 100) t = new Date(t).setUTCFullYear(year);
    const zone = m[8];
    if (zone && zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
      t -= sign * offset * 60_000;
    }
    return t;
  }
  if (EPOCH.test(text)) return Number(text);
  return null;
}

type Unit = 'y' | 'M' | 'w' | 'd' | 'h' | 'm' | 's' | 'ms';

function add(t: number, unit: Unit, n: number): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      return d.setUTCFullYear(d.getUTCFullYear() + n);
    case 'M':
      return d.setUTCMonth(d.getUTCMonth() + n);
    case 'w':
      return t + n * 7 * 86_400_000;
    case 'd':
      return t + n * 86_400_000;
    case 'h':
      return t + n * 3_600_000;
    case 'm':
      return t + n * 60_000;
    case 's':
      return t + n * 1000;
    case 'ms':
      return t + n;
  }
}

function roundDown(t: number, unit: Unit): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'w': {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return day - ((d.getUTCDay() + 6) % 7) * 86_400_000; // weeks start on Monday
    }
    case 'd':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'h':
      return t - (((t % 3_600_000) + 3_600_000) % 3_600_000);
    case 'm':
      return t - (((t % 60_000) + 60_000) % 60_000);
    case 's':
      return t - (((t % 1000) + 1000) % 1000);
    case 'ms':
      return t;
  }
}

/** One character of the server's grammar (it has no `ms`). */
function unitOf(c: string | undefined): Unit | null {
  if (c === 'H') return 'h';
  return c !== undefined && 'yMwdhms'.includes(c) ? (c as Unit) : null;
}

/** Both grammars' anchor: `now…`, `<date>||…` or a bare date; the date (none for now) and the math after it. */
function splitAnchor(text: string): { readonly date?: string; readonly bare: boolean; readonly math: string } {
  if (text.startsWith('now')) return { bare: false, math: text.slice(3) };
  const at = text.indexOf('||');
  return at < 0 ? { date: text, bare: true, math: '' } : { date: text.slice(0, at), bare: false, math: text.slice(at + 2) };
}

/** A range bound or an exact date in date math; null when the server would refuse it. */
export function parseDateMath(text: string, roundUp: boolean, now: number): number | null {
  const { date, bare, math } = splitAnchor(text);
  // A bare date rounds up as the bound asks; a date before `||` is the anchor of the math, not rounded.
  let time = date === undefined ? now : parseDate(date, bare && roundUp);
  if (time === null) return null;
  let i = 0;
  while (i < math.length) {
    const op = math[i++];
    if (op === '/') {
      const unit = unitOf(math[i++]);
      if (unit === null) return null;
      time = roundDown(time, unit);
      if (roundUp) time = add(time, unit, 1) - 1;
    } else if (op === '+' || op === '-') {
      let digits = '';
      while (i < math.length && math[i] >= '0' && math[i] <= '9') digits += math[i++];
      const unit = unitOf(math[i++]);
      if (unit === null) return null;
      time = add(time, unit, (op === '-' ? -1 : 1) * (digits === '' ? 1 : Number(digits)));
    } else {
      return null;
    }
  }
  return time;
}

/**
 * Kibana's date math (`now-7d`, `now-1d/d`, `now-2w+1h`, `now-500ms`, an ISO date,
 * `2026-11-01||-1d`) to epoch milliseconds, relative to `now`; blanks around the parts are
 * allowed. Rounding is always down (Kibana rounds up only where it is asked to, for the end of
 * a range, which rule parameters never are). Undefined when the text is not date math.
 */
export function resolveDateMath(text: string, now: number): number | undefined {
  const { date, math } = splitAnchor(text.trim());
  let time = date === undefined ? now : Date.parse(date);
  if (!Number.isFinite(time)) return undefined;
  let rest = math;
  const part = /^\s*(?:([+-])\s*(\d+)?|\/)\s*(ms|[yMwdhHms])/;
  while (rest.trim() !== '') {
    const m = part.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length);
    const unit: Unit = m[3] === 'H' ? 'h' : (m[3] as Unit);
    time = m[1] ? add(time, unit, (m[1] === '-' ? -1 : 1) * Number(m[2] ?? 1)) : roundDown(time, unit);
  }
  return time;
}
