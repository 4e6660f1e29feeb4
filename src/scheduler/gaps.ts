/**
 * Filling recorded gaps. An execution that could not reach back far enough records the time it
 * left unread, with the rule's margin on both sides (window.ts gapMarginMs). Here each recorded
 * gap is backfilled in chunks (at most `chunkMs` of events each); after each chunk the gap's
 * record notes how far it is filled, and the whole gap once done is marked filled, so a stopped
 * fill resumes and a filled gap is not read again. Alert ids make the overlap with what the
 * scheduled windows already read harmless. `lookout backfill --gaps` fills every gap; the daemon
 * fills one chunk per rule per tick (LOOKOUT_FILL_GAPS).
 */
import type { Rule } from '../rules/model.js';
import type { RecordedGap } from '../state/store.js';
import { backfillRules } from './backfill.js';
import type { ExecuteDeps } from './execute.js';
import { gapMarginMs } from './window.js';

export interface FillOptions {
  /** Longest range backfilled at once (default one hour). */
  readonly chunkMs?: number;
  /** Stop after this many chunks (default: no limit). */
  readonly maxChunks?: number;
  readonly concurrency?: number;
}

export interface FillResult {
  readonly gaps: number;
  readonly filled: number;
  readonly chunks: number;
  readonly alertsWritten: number;
  readonly failed: { readonly ruleId: string; readonly error: string }[];
}

const HOUR = 3_600_000;

/** Fills the recorded gaps of `rules`, oldest first. Never throws for one rule's failure. */
export async function fillGaps(deps: ExecuteDeps, rules: readonly Rule[], options: FillOptions = {}): Promise<FillResult> {
  const byId = new Map(rules.map((r) => [r.ruleId, r]));
  const chunkMs = options.chunkMs ?? HOUR;
  const maxChunks = options.maxChunks ?? Number.POSITIVE_INFINITY;
  const gaps = await deps.store.unfilledGaps([...byId.keys()]);
  const failed: { ruleId: string; error: string }[] = [];
  const stopped = new Set<string>();
  let chunks = 0;
  let filled = 0;
  let alertsWritten = 0;
  for (const gap of gaps) {
    const rule = byId.get(gap.ruleId);
    if (!rule || stopped.has(rule.ruleId)) continue;
    let until = gap.filledUntil ?? gap.start;
    let marked = false;
    while (until < gap.end && chunks < maxChunks) {
      // Chunks after the first reach back by the rule's margin, as consecutive windows do.
      const from = until === gap.start ? gap.start : Math.max(gap.start, until - gapMarginMs(rule));
      const to = Math.min(gap.end, until + chunkMs);
      chunks++;
      const [result] = await backfillRules(deps, [rule], { from, to, concurrency: options.concurrency });
      alertsWritten += result.alertsWritten;
      if (result.failed) {
        failed.push({ ruleId: rule.ruleId, error: result.error ?? 'failed' });
        stopped.add(rule.ruleId);
        break;
      }
      until = to;
      await deps.store.markGap(gap.executionId, until, until >= gap.end);
      marked = true;
    }
    if (until >= gap.end) {
      if (!marked) await deps.store.markGap(gap.executionId, until, true);
      filled++;
      logFilled(deps, rule, gap);
    }
    if (chunks >= maxChunks) break;
  }
  return { gaps: gaps.length, filled, chunks, alertsWritten, failed };
}

function logFilled(deps: ExecuteDeps, rule: Rule, gap: RecordedGap): void {
  deps.logger.info('gap filled', {
    rule_id: rule.ruleId, rule: rule.name, execution_id: gap.executionId,
    gap_start: new Date(gap.start).toISOString(), gap_end: new Date(gap.end).toISOString(),
  });
}
