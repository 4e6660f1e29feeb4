/** Durations as rules and options write them: `30s`, `5m`, `1h`, `2d`, `500ms`. */
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]];
}

/** `now-9m` (Elastic's `from`) to a look-back in milliseconds. */
export function parseLookback(text: string): number | undefined {
  const m = /^\s*now\s*-\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))\s*$/.exec(text);
  return m ? parseDuration(m[1]) : undefined;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const MATH_UNITS = new Set(['y', 'M', 'w', 'd', 'h', 'H', 'm', 's', 'ms']);

/**
 * Elasticsearch / Kibana date math (`now-7d`, `now-1d/d`, `now-2w+1h`, an ISO date, `2026-11-01||-1d`)
 * to epoch milliseconds, relative to `now`. Calendar units and rounding are in UTC. Undefined
 * when the text is not date math.
 */
export function resolveDateMath(text: string, now: number): number | undefined {
  const t = text.trim();
  let anchor: number;
  let rest: string;
  if (t.startsWith('now')) {
    anchor = now;
    rest = t.slice(3);
  } else {
    const bar = t.indexOf('||');
    anchor = Date.parse(bar < 0 ? t : t.slice(0, bar));
    rest = bar < 0 ? '' : t.slice(bar + 2);
    if (!Number.isFinite(anchor)) return undefined;
  }
  const d = new Date(anchor);
  const re = /^\s*(?:([+-])\s*(\d+)?|\/)\s*(ms|[yMwdhHms])/;
  while (rest.trim() !== '') {
    const m = re.exec(rest);
    if (!m || !MATH_UNITS.has(m[3])) return undefined;
    rest = rest.slice(m[0].length);
    const unit = m[3] === 'H' ? 'h' : m[3];
    if (m[1]) {
      const n = (m[1] === '-' ? -1 : 1) * Number(m[2] ?? 1);
      switch (unit) {
        case 'y': d.setUTCFullYear(d.getUTCFullYear() + n); break;
        case 'M': d.setUTCMonth(d.getUTCMonth() + n); break;
        case 'w': d.setTime(d.getTime() + n * 7 * 86_400_000); break;
        default: d.setTime(d.getTime() + n * UNITS[unit]);
      }
    } else {
      // Rounding down to the start of the unit.
      switch (unit) {
        case 'y': d.setUTCMonth(0, 1); d.setUTCHours(0, 0, 0, 0); break;
        case 'M': d.setUTCDate(1); d.setUTCHours(0, 0, 0, 0); break;
        case 'w': d.setUTCHours(0, 0, 0, 0); d.setTime(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000); break;
        case 'd': d.setUTCHours(0, 0, 0, 0); break;
        case 'h': d.setUTCMinutes(0, 0, 0); break;
        case 'm': d.setUTCSeconds(0, 0); break;
        case 's': d.setUTCMilliseconds(0); break;
        default: break;
      }
    }
  }
  return d.getTime();
}
