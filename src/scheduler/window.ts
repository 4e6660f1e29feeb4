/**
 * Which time range a scheduled execution reads. Normally `[now - from, now]`, as Elastic does:
 * with from=now-9m and interval 5m consecutive windows overlap by 4 minutes, and alert ids make
 * the overlap harmless. After a stop (a restart, an outage) the window reaches back to the end
 * of the last successful one, less an overlap of at least the sequence's maxspan, so nothing is
 * missed; but never further than `maxCatchupMs` beyond the normal look-back. What lies before
 * that is a gap: recorded and logged, and filled by `lookout backfill --gaps` or the daemon.
 *
 * A gap is recorded with the margin the rule needs on both sides (gapMarginMs): a sequence whose
 * first event lies just before the unread time, or whose last lies just after it, was seen whole
 * by no window, so backfilling only the unread time would miss it.
 */
import type { Rule } from '../rules/model.js';

export interface Window {
  readonly start: number;
  readonly end: number;
  readonly gap?: { readonly start: number; readonly end: number };
  /**
   * The data for this window may still be arriving (it follows an outage, a failed or partial
   * execution, or reads events that came later than the windows overlap): its start is kept
   * in the rule's state (`reread_from`) and the next executions read from there again, until
   * one runs after the data has settled.
   */
  readonly settling?: boolean;
}

export function overlapMs(rule: Rule): number {
  return Math.max(rule.lookbackMs - rule.intervalMs, rule.compiled.overlapMs, 0);
}

/**
 * How far a match can reach across an edge of the time read: a sequence's maxspan (or, without
 * one, the overlap of consecutive windows), a correlation's read-back.
 */
export function gapMarginMs(rule: Rule): number {
  return Math.max(overlapMs(rule), rule.compiled.readBackMs);
}

export function scheduledWindow(rule: Rule, now: number, lastSuccessEnd: number | undefined, maxCatchupMs: number): Window {
  const end = now;
  const normalStart = now - rule.lookbackMs;
  if (lastSuccessEnd === undefined || lastSuccessEnd >= normalStart) return { start: normalStart, end };
  const wanted = lastSuccessEnd - overlapMs(rule);
  const earliest = normalStart - maxCatchupMs;
  if (wanted >= earliest) return { start: wanted, end };
  const margin = gapMarginMs(rule);
  return { start: earliest, end, gap: { start: lastSuccessEnd - margin, end: earliest + margin } };
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
