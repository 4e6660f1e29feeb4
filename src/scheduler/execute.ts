/**
 * Executes one rule over one window against Elasticsearch and records the execution. Never
 * throws for a failure of the rule's own work: the failure is logged, recorded and returned,
 * so one rule cannot stop the others.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { ALERT_SOURCE_FIELDS } from '../alerts/build.js';
import { enricherFor } from '../alerts/enrich.js';
import type { AlertSink } from '../alerts/writer.js';
import { runRule, type RunCounts } from '../engine/run.js';
import { AlertWriteError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Rule } from '../rules/model.js';
import { fetchFieldTypes } from '../search/field-caps.js';
import { Pushdown, type EsQuery } from '../search/pushdown.js';
import { newReadStats, readEvents, type ReadMode, type ReadStats } from '../search/reader.js';
import type { ExecutionRecord, StateStore } from '../state/store.js';
import type { Notifier } from '../alerts/notify.js';
import type { Window } from './window.js';

export interface ExecuteDeps {
  readonly client: Client;
  readonly sink: AlertSink;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly pageSize: number;
  readonly readMode: ReadMode;
  readonly clock?: () => number;
  /** Told about every execution once recorded (metrics, health). */
  readonly onRecord?: (record: ExecutionRecord) => void;
  /** Told about the alerts each execution created (notifications). */
  readonly notifier?: Notifier;
}

export interface ExecutionResult {
  readonly record: ExecutionRecord;
  readonly counts?: RunCounts;
  readonly read?: ReadStats;
  readonly query?: EsQuery | null;
}

/** The `_source` fields an execution fetches: what the rule reads and what its alerts show. */
export function sourceFields(rule: Rule): string[] {
  return [...new Set([
    ...rule.compiled.fields, ...ALERT_SOURCE_FIELDS, rule.timestampField, '@timestamp',
    ...(rule.tiebreakerField ? [rule.tiebreakerField] : []),
    ...rule.severityMapping.map((m) => m.field), ...rule.riskScoreMapping.map((m) => m.field),
    ...(rule.ruleNameOverride ? [rule.ruleNameOverride] : []),
    ...filterFields(rule.filters.query),
  ])];
}

/** Fields the rule's filters read, so the in-memory check sees them. */
function filterFields(q: unknown): string[] {
  if (!q || typeof q !== 'object') return [];
  if (Array.isArray(q)) return q.flatMap(filterFields);
  const out: string[] = [];
  for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
    if (['match_phrase', 'match', 'term', 'terms', 'range'].includes(k) && v && typeof v === 'object') out.push(...Object.keys(v).filter((f) => f !== 'boost'));
    else if (k === 'exists' && v && typeof v === 'object' && typeof (v as { field?: unknown }).field === 'string') out.push((v as { field: string }).field);
    else out.push(...filterFields(v));
  }
  return out;
}

/** The pushed-down query and the `_source` fields for a rule over its indices. */
export async function planRead(client: Client, rule: Rule): Promise<{ query: EsQuery | null; sourceIncludes: string[] }> {
  const types = await fetchFieldTypes(client, rule.indices, rule.compiled.fields);
  const pushed = new Pushdown(types).query(rule.compiled, rule.eventCategoryField);
  const filters = rule.filters.query;
  const query = pushed && filters ? { bool: { filter: [pushed, filters] } } : (pushed ?? filters);
  return { query, sourceIncludes: sourceFields(rule) };
}

export async function executeRule(deps: ExecuteDeps, rule: Rule, window: Window, kind: ExecutionRecord['kind']): Promise<ExecutionResult> {
  const clock = deps.clock ?? Date.now;
  const executionId = randomUUID();
  const startedAt = clock();
  const log = deps.logger.child({ rule_id: rule.ruleId, rule: rule.name, execution_id: executionId });
  const read = newReadStats();
  let counts: RunCounts | undefined;
  let error: string | undefined;
  let notWritten = 0;
  let query: EsQuery | null | undefined;
  if (window.gap) {
    log.warn('gap in rule executions: events in this range were not evaluated; run lookout backfill to cover it', {
      gap_start: new Date(window.gap.start).toISOString(), gap_end: new Date(window.gap.end).toISOString(),
    });
  }
  const readBack = rule.compiled.kind === 'sigma' ? rule.compiled.readBackMs : 0;
  try {
    const plan = await planRead(deps.client, rule);
    query = plan.query;
    const events = readEvents(deps.client, {
      indices: rule.indices,
      timestampField: rule.timestampField,
      fallbackTimestampField: rule.timestampFallback ? '@timestamp' : undefined,
      // A correlation looks back twice its timespan and alerts only inside its own window.
      from: window.start - readBack,
      to: window.end,
      query: plan.query,
      sourceIncludes: plan.sourceIncludes,
      pageSize: deps.pageSize,
      mode: deps.readMode,
    }, read);
    counts = await runRule(rule, events, deps.sink, {
      now: new Date(clock()), executionId, emitFrom: readBack > 0 ? window.start : undefined, enrich: enricherFor(deps.client, rule),
      onCreated: deps.notifier ? (alerts) => deps.notifier!.notify(rule, alerts) : undefined,
    });
  } catch (err) {
    error = errorMessage(err);
    if (err instanceof AlertWriteError) notWritten = err.alertIds.length;
  }
  const skippedHits = Object.values(read.skipped).reduce((a, b) => a + b, 0);
  const record: ExecutionRecord = {
    executionId,
    ruleId: rule.ruleId,
    ruleName: rule.name,
    kind,
    status: error ? (counts || notWritten > 0 ? 'partial' : 'failed') : 'succeeded',
    startedAt,
    finishedAt: clock(),
    window: { start: window.start, end: window.end },
    gap: window.gap,
    eventsRead: read.hits,
    eventsSkipped: skippedHits + (counts?.eventsSkipped ?? 0),
    matches: counts?.matches ?? 0,
    alertsWritten: counts?.alertsWritten ?? 0,
    duplicatesSkipped: counts?.duplicates ?? 0,
    truncated: (counts?.truncated ?? 0) > 0,
    notWritten: notWritten + (counts?.truncated ?? 0),
    error,
  };
  const fields = {
    status: record.status,
    window_start: new Date(window.start).toISOString(),
    window_end: new Date(window.end).toISOString(),
    events_read: record.eventsRead,
    events_skipped: record.eventsSkipped,
    matches: record.matches,
    alerts_written: record.alertsWritten,
    duplicates_skipped: record.duplicatesSkipped,
    duration_ms: record.finishedAt - record.startedAt,
    read_mode: read.mode,
    ...(skippedHits > 0 || (counts && counts.eventsSkipped > 0) ? { skipped_reasons: { ...read.skipped, ...counts?.skippedReasons } } : {}),
  };
  if (counts && counts.truncated > 0) {
    log.warn(`max_signals reached: ${counts.truncated} new alert(s) not written this execution (cap ${rule.maxSignals}); the next overlapping execution will write them`, fields);
  }
  if (error) log.error(`execution failed: ${error}`, fields);
  else log.info('execution finished', fields);
  try {
    await deps.store.record(record);
  } catch (err) {
    log.error(`cannot record the execution: ${errorMessage(err)}`);
  }
  deps.onRecord?.(record);
  return { record, counts, read, query };
}
