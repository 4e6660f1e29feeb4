/**
 * Which time range a scheduled execution reads. Normally `[now - from, now]`, as Elastic does:
 * with from=now-9m and interval 5m consecutive windows overlap by 4 minutes, and alert ids make
 * the overlap harmless. After a stop (a restart, an outage) the window reaches back to the end
 * of the last successful one, less an overlap of at least the sequence's maxspan, so nothing is
 * missed; but never further than `maxCatchupMs` beyond the normal look-back. What lies before
 * that is a gap: recorded and logged, and left to `lookout backfill`.
 */
import type { Rule } from '../rules/model.js';

export interface Window {
  readonly start: number;
  readonly end: number;
  readonly gap?: { readonly start: number; readonly end: number };
}

export function overlapMs(rule: Rule): number {
  const maxspan = rule.compiled.kind === 'sequence' ? rule.compiled.maxspanMs ?? 0 : 0;
  return Math.max(rule.lookbackMs - rule.intervalMs, maxspan, 0);
}

export function scheduledWindow(rule: Rule, now: number, lastSuccessEnd: number | undefined, maxCatchupMs: number): Window {
  const end = now;
  const normalStart = now - rule.lookbackMs;
  if (lastSuccessEnd === undefined || lastSuccessEnd >= normalStart) return { start: normalStart, end };
  const wanted = lastSuccessEnd - overlapMs(rule);
  const earliest = normalStart - maxCatchupMs;
  if (wanted >= earliest) return { start: wanted, end };
  return { start: earliest, end, gap: { start: lastSuccessEnd, end: earliest } };
}

/**
 * Backfill windows over [from, to]: one per `step`, each reaching `overlap` back into the
 * previous one (so a sequence across the boundary lies wholly inside a window).
 */
export function backfillWindows(from: number, to: number, step: number, overlap: number): Window[] {
  const out: Window[] = [];
  for (let s = from; s < to; s += step) out.push({ start: Math.max(from, s - overlap), end: Math.min(s + step, to) });
  return out;
}
