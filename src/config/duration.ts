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
