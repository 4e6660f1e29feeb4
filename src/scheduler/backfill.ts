/**
 * Backfill: runs a rule over a past range in windows that overlap by the rule's maxspan (so a
 * sequence across a boundary is found) and relies on alert ids so that one found twice is
 * written once. Progress is saved after each window; the same command again resumes after the
 * last completed window. A window that fails stops the backfill (and is retried on resume).
 */
import type { Rule } from '../rules/model.js';
import { executeRule, type ExecuteDeps } from './execute.js';
import { backfillWindows } from './window.js';

export interface BackfillOptions {
  readonly from: number;
  readonly to: number;
  /** Length of each window. Default: one hour, or the rule's look-back if longer. */
  readonly stepMs?: number;
  readonly onProgress?: (done: number, total: number, rule: Rule) => void;
}

export interface BackfillResult {
  readonly ruleId: string;
  readonly windows: number;
  readonly resumedFrom?: number;
  readonly alertsWritten: number;
  readonly duplicates: number;
  readonly eventsRead: number;
  readonly failed: boolean;
  readonly error?: string;
}

export async function backfillRule(deps: ExecuteDeps, rule: Rule, options: BackfillOptions): Promise<BackfillResult> {
  const step = options.stepMs ?? Math.max(3_600_000, rule.lookbackMs);
  const maxspan = rule.compiled.kind === 'sequence' ? rule.compiled.maxspanMs ?? 0 : 0;
  const overlap = Math.min(maxspan, step / 2);
  const key = `${rule.ruleId}:${options.from}:${options.to}`;
  const resumedFrom = await deps.store.backfillProgress(key);
  const windows = backfillWindows(options.from, options.to, step, overlap).filter((w) => resumedFrom === undefined || w.end > resumedFrom);
  let alertsWritten = 0;
  let duplicates = 0;
  let eventsRead = 0;
  for (const [i, w] of windows.entries()) {
    const { record } = await executeRule(deps, rule, w, 'backfill');
    alertsWritten += record.alertsWritten;
    duplicates += record.duplicatesSkipped;
    eventsRead += record.eventsRead;
    if (record.status !== 'succeeded') {
      return { ruleId: rule.ruleId, windows: i, resumedFrom, alertsWritten, duplicates, eventsRead, failed: true, error: record.error };
    }
    await deps.store.saveBackfillProgress(key, rule.ruleId, options.from, options.to, w.end);
    options.onProgress?.(i + 1, windows.length, rule);
  }
  return { ruleId: rule.ruleId, windows: windows.length, resumedFrom, alertsWritten, duplicates, eventsRead, failed: false };
}

