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
import type { EventRecord } from '../engine/events.js';
import { EventRouter } from '../engine/route.js';
import { shareEvaluation } from '../engine/share.js';
import { flushRuns, RuleRun, type RunCounts } from '../engine/run.js';
import { AlertWriteError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Rule } from '../rules/model.js';
import { fetchFieldTypes, type FieldTypes } from '../search/field-caps.js';
import { fieldTypesFromCaps } from '../eql/mapping-types.js';
import { withFieldTypes } from '../rules/typed.js';
import { resolveIndexNames, type IndexNames } from '../search/index-names.js';
import { missingFields } from '../search/missing-fields.js';
import { Pushdown, type EsQuery } from '../search/pushdown.js';
import { packReads, unionOf, widen } from '../search/union.js';
import { newReadStats, readEvents, type ReadMode, type ReadStats } from '../search/reader.js';
import type { ExecutionRecord, StateStore } from '../state/store.js';
import type { Notifier } from '../alerts/notify.js';
import { overlapMs, type Window } from './window.js';

export interface ExecuteDeps {
  readonly client: Client;
  readonly sink: AlertSink;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly pageSize: number;
  /** How large pages may grow when the cluster is slow on them (default 10,000). */
  readonly maxPageSize?: number;
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
    ...filterFields(rule.filters.query), ...(rule.exceptions?.fields ?? []),
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

/**
 * The pushed-down query and the `_source` fields for a rule over its indices. `types` (from
 * `_field_caps`) is fetched unless given: rules sharing a read share one lookup.
 */
export async function planRead(client: Client, rule: Rule, types?: FieldTypes): Promise<{ query: EsQuery | null; sourceIncludes: string[] }> {
  types ??= await fetchFieldTypes(client, rule.indices, [...rule.compiled.fields, ...(rule.exceptions?.fields ?? [])]);
  return { query: pushedQuery(rule, types), sourceIncludes: sourceFields(rule) };
}

/** The rule's query (a superset of what it accepts) and its filters, for fields of these types. */
export function pushedQuery(rule: Rule, types: FieldTypes): EsQuery | null {
  const pushed = rule.compiled.plan === 'streamed' ? rule.compiled.pushdown(new Pushdown(types)) : null;
  const filters = rule.filters.query;
  const query = pushed && filters ? { bool: { filter: [pushed, filters] } } : (pushed ?? filters);
  const excepted = rule.exceptions?.mustNot(types) ?? [];
  return excepted.length === 0 ? query : { bool: { ...(query ? { filter: [query] } : {}), must_not: excepted } };
}

/**
 * Rules can share one read when they read the same indices by the same timestamp over the same
 * window (and none reads back further, as correlations do): the key says which can. A rule that
 * aggregates on the server (rules/language.ts) reads nothing to share: it runs on its own.
 */
export function shareKey(rule: Rule): string {
  if (rule.compiled.plan === 'aggregated') return JSON.stringify(['aggregated', rule.ruleId]);
  return JSON.stringify([[...rule.indices].sort(), rule.timestampField, rule.timestampFallback, rule.compiled.readBackMs]);
}

/**
 * How many events the rules' shared read would select over [from, to] (their pushed-down queries'
 * union, one `_count`), for backfill to size its windows; undefined where it cannot say cheaply
 * (rules aggregated on the server, a fallback timestamp, or the count failing).
 */
export async function countMatching(client: Client, rules: readonly Rule[], from: number, to: number): Promise<number | undefined> {
  const first = rules[0];
  if (!first || first.compiled.plan === 'aggregated' || first.timestampFallback) return undefined;
  try {
    const types = await fetchFieldTypes(client, first.indices, [...new Set(rules.flatMap((r) => [...r.compiled.fields, ...(r.exceptions?.fields ?? [])]))]);
    const typeMap = fieldTypesFromCaps(types);
    const query = unionOf(rules.map((r) => pushedQuery(withFieldTypes(r, typeMap, types), types)));
    const range = { range: { [first.timestampField]: { gte: from, lte: to, format: 'epoch_millis' } } };
    const res = await client.count({
      index: first.indices.join(','), ignore_unavailable: true, allow_no_indices: true,
      query: { bool: { filter: query ? [range, query] : [range] } } as never,
    });
    return res.count;
  } catch {
    return undefined;
  }
}

export async function executeRule(deps: ExecuteDeps, rule: Rule, window: Window, kind: ExecutionRecord['kind']): Promise<ExecutionResult> {
  return (await executeRules(deps, [rule], window, kind))[0];
}

/** The cheaper superset a read may go on with (undefined when widening changes nothing). */
function cheaperThan(query: EsQuery | null): EsQuery | null | undefined {
  if (query === null) return undefined;
  const wide = widen(query);
  return wide !== null && JSON.stringify(wide) === JSON.stringify(query) ? undefined : wide;
}

/** One rule's side of a shared execution. */
interface Member {
  /** Compiled again with the indices' field types once they are known (rules/typed.ts). */
  rule: Rule;
  readonly executionId: string;
  readonly startedAt: number;
  readonly log: Logger;
  run: RuleRun | undefined;
  error: unknown;
  query: EsQuery | null | undefined;
  read: ReadStats | undefined;
  /** Fields the rule uses that no target index has (from the read's `_field_caps`). */
  missing: readonly string[];
}

/**
 * One read: each event goes only to the rules with a stage for its category; alerts are written
 * for all the rules together whenever one has a batch waiting, and at the end.
 */
async function readAndEvaluate(deps: ExecuteDeps, members: readonly Member[], events: AsyncIterable<readonly EventRecord[]>): Promise<void> {
  const router = new EventRouter(members.map((p) => ({ target: p, rule: p.rule })));
  const flush = async (list: readonly Member[]) => {
    const errors = await flushRuns(list.map((p) => p.run!), deps.sink);
    errors.forEach((err, i) => {
      if (err !== undefined) list[i].error ??= err;
    });
  };
  for await (const page of events) {
    for (const e of page) {
      for (const p of router.route(e.source)) if (p.error === undefined) p.run!.feed(e);
    }
    if (members.some((p) => p.error === undefined && p.run!.full)) await flush(members.filter((p) => p.error === undefined));
  }
  const live = members.filter((p) => p.error === undefined);
  for (const p of live) {
    try {
      p.run!.end();
    } catch (err) {
      p.error = err;
    }
  }
  await flush(live.filter((p) => p.error === undefined));
}

/**
 * Executes rules that share a key (see shareKey) over one window with one read (a few when the
 * union of their queries would pass the clause limit: search/union.ts packReads): the union of
 * their pushed-down queries, the union of the fields they need; each event goes only to the rules
 * with a stage for its event category (engine/route.ts), and the alerts of all the rules are
 * checked and written together (one mget, bulk requests by size). Each rule keeps its own
 * alerts, cap, counts and execution record, and a rule whose alerts cannot be written does not
 * stop the others.
 */
export async function executeRules(deps: ExecuteDeps, rules: readonly Rule[], window: Window, kind: ExecutionRecord['kind']): Promise<ExecutionResult[]> {
  if (rules.length === 0) return [];
  const key = shareKey(rules[0]);
  if (rules.some((r) => shareKey(r) !== key)) throw new Error('executeRules: the rules do not share indices, timestamp and read-back');
  const clock = deps.clock ?? Date.now;
  const first = rules[0];
  const readBack = first.compiled.readBackMs;
  const per: Member[] = rules.map((rule) => {
    const executionId = randomUUID();
    return {
      rule,
      executionId,
      startedAt: clock(),
      log: deps.logger.child({ rule_id: rule.ruleId, rule: rule.name, execution_id: executionId }),
      run: undefined,
      error: undefined,
      query: undefined,
      read: undefined,
      missing: [],
    };
  });
  if (window.gap) {
    for (const p of per) {
      p.log.warn('gap in rule executions: events in this range were not evaluated; run lookout backfill to cover it', {
        gap_start: new Date(window.gap.start).toISOString(), gap_end: new Date(window.gap.end).toISOString(),
      });
    }
  }
  try {
    const types = await fetchFieldTypes(deps.client, first.indices, [...new Set(rules.flatMap((r) => [...r.compiled.fields, ...(r.exceptions?.fields ?? [])]))]);
    const typeMap = fieldTypesFromCaps(types);
    for (const p of per) p.rule = withFieldTypes(p.rule, typeMap, types);
    for (const p of per) p.missing = missingFields(p.rule, types);
    if (first.compiled.plan === 'aggregated') {
      await aggregateAndWrite(deps, per, window, types, clock);
    } else {
      // Queries that route events by index (Sigma): the names each index answers to, resolved once per read.
      let indexNames: IndexNames | undefined;
      if (rules.some((r) => r.compiled.plan === 'streamed' && r.compiled.needsIndexNames)) {
        const resolved = await resolveIndexNames(deps.client, first.indices);
        if (resolved.error) deps.logger.warn(`cannot resolve ${first.indices.join(',')} to indices, aliases and data streams (backing indices are still recognised by name): ${resolved.error}`);
        indexNames = resolved.names;
      }
      const plans = await Promise.all(per.map((p) => planRead(deps.client, p.rule, types)));
      plans.forEach((plan, i) => (per[i].query = plan.query));
      // Usually one read; more only when the union of the queries would pass the clause limit.
      for (const pack of packReads(plans.map((p) => p.query))) {
        const members = pack.members.map((i) => per[i]);
        const shared = shareEvaluation(members.map((p) => p.rule));
        for (const p of members) {
          p.run = new RuleRun(p.rule, deps.sink, {
            now: new Date(clock()), executionId: p.executionId, emitFrom: readBack > 0 ? window.start : undefined, windowEnd: window.end,
            enrich: enricherFor(deps.client, p.rule),
            onCreated: deps.notifier ? (alerts) => deps.notifier!.notify(p.rule, alerts) : undefined,
            shared: shared.get(p.rule),
            indexNames,
          });
        }
        const read = newReadStats();
        for (const p of members) p.read = read;
        try {
          await readAndEvaluate(deps, members, readEvents(deps.client, {
            indices: first.indices,
            timestampField: first.timestampField,
            fallbackTimestampField: first.timestampFallback ? '@timestamp' : undefined,
            // A correlation looks back twice its timespan and alerts only inside its own window.
            from: window.start - readBack,
            to: window.end,
            query: pack.query,
            cheaperQuery: cheaperThan(pack.query),
            // A union of several rules asks for the cheaper superset's count first (search/union.ts).
            cheaperFirst: pack.members.length > 1,
            sourceIncludes: [...new Set(pack.members.flatMap((i) => plans[i].sourceIncludes))],
            pageSize: deps.pageSize,
            maxPageSize: deps.maxPageSize,
            mode: deps.readMode,
          }, read));
        } catch (err) {
          // The read failed: every rule of it that had not failed on its own fails with it.
          for (const p of members) if (p.error === undefined) p.error = err;
        }
      }
    }
  } catch (err) {
    // Planning failed (field types, pushdown): every rule fails with it.
    for (const p of per) if (p.error === undefined) p.error = err;
  }
  const results = per.map((p) => finishExecution(p, p.read ?? newReadStats(), window, kind, clock));
  try {
    await deps.store.recordAll(results.map((r) => r.record));
  } catch (err) {
    for (const p of per) p.log.error(`cannot record the execution: ${errorMessage(err)}`);
  }
  for (const r of results) deps.onRecord?.(r.record);
  return results;
}

/**
 * The filters and exceptions of a rule that aggregates on the server: no event comes back to be
 * checked in memory, so every exception item active now goes into the search, as Kibana sends it.
 */
function aggregatedFilter(rule: Rule, now: number): EsQuery | null {
  const filters = rule.filters.query ?? null;
  const excepted = rule.exceptions?.serverClauses(now) ?? [];
  if (excepted.length === 0) return filters;
  return { bool: { ...(filters ? { filter: [filters] } : {}), must_not: excepted } };
}

/**
 * An aggregated query (rules/language.ts): the server finds the matches in the window, and they
 * go through the same alert pipeline as a streamed rule's (RuleRun: dedup, max_signals, write).
 * Such a rule runs alone (shareKey), so `members` is one rule.
 */
async function aggregateAndWrite(deps: ExecuteDeps, members: readonly Member[], window: Window, types: FieldTypes, clock: () => number): Promise<void> {
  for (const p of members) {
    const compiled = p.rule.compiled;
    if (compiled.plan !== 'aggregated') throw new Error('aggregateAndWrite: a streamed rule');
    try {
      const afterWrite: (() => Promise<void>)[] = [];
      const matches = await compiled.aggregate({
        client: deps.client, indices: p.rule.indices, timestampField: p.rule.timestampField,
        fallbackTimestampField: p.rule.timestampFallback ? '@timestamp' : undefined,
        from: window.start - compiled.readBackMs, to: window.end, filter: aggregatedFilter(p.rule, clock()), types,
        ruleId: p.rule.ruleId, maxSignals: p.rule.maxSignals, store: deps.store, afterWrite: (f) => afterWrite.push(f),
      });
      p.run = new RuleRun(p.rule, deps.sink, {
        now: new Date(clock()), executionId: p.executionId,
        enrich: enricherFor(deps.client, p.rule),
        onCreated: deps.notifier ? (alerts) => deps.notifier!.notify(p.rule, alerts) : undefined,
      });
      p.run.addMatches(matches);
      await p.run.finish();
      for (const f of afterWrite) await f();
    } catch (err) {
      p.error = err;
    }
  }
}

/**
 * From where the next executions must read again, because the data of this window may still be
 * arriving: all of it when the daemon says so (window.settling: after an outage or a failure);
 * the last `lag` of it when events came in later (by their `event.ingested`) than consecutive
 * windows overlap, so an event as late would fall behind the next window's start.
 */
function rereadFrom(rule: Rule, window: Window, read: ReadStats): number | undefined {
  if (window.settling) return window.start;
  const lag = read.maxIngestLagMs;
  if (lag === undefined || lag <= overlapMs(rule)) return undefined;
  return Math.max(window.start, window.end - lag);
}

function finishExecution(
  p: Member,
  read: ReadStats, window: Window, kind: ExecutionRecord['kind'], clock: () => number,
): ExecutionResult {
  const { rule, log } = p;
  const counts = p.run?.counts;
  // An answer with failed shards or that timed out may lack events: the execution is partial
  // (the window is not advanced, the next execution reads it again), never a success.
  const incomplete = read.incomplete.length > 0
    ? `the read is incomplete (${read.incomplete.length} shard failure(s) or timeout; events may be missing): ${read.incomplete.join('; ')}`
    : undefined;
  const error = p.error === undefined ? incomplete : `${errorMessage(p.error)}${incomplete ? `; ${incomplete}` : ''}`;
  const notWritten = p.error instanceof AlertWriteError ? p.error.alertIds.length : 0;
  const skippedHits = Object.values(read.skipped).reduce((a, b) => a + b, 0);
  const wroteSome = (counts?.alertsWritten ?? 0) > 0 || notWritten > 0;
  const record: ExecutionRecord = {
    executionId: p.executionId,
    ruleId: rule.ruleId,
    ruleName: rule.name,
    kind,
    status: p.error !== undefined ? (wroteSome ? 'partial' : 'failed') : incomplete ? 'partial' : 'succeeded',
    startedAt: p.startedAt,
    finishedAt: clock(),
    window: { start: window.start, end: window.end },
    gap: window.gap,
    eventsRead: read.hits,
    eventsSkipped: skippedHits + (counts?.eventsSkipped ?? 0),
    matches: counts?.matches ?? 0,
    alertsWritten: counts?.alertsWritten ?? 0,
    duplicatesSkipped: counts?.duplicates ?? 0,
    ...(counts && counts.suppressed > 0 ? { alertsSuppressed: counts.suppressed } : {}),
    truncated: (counts?.truncated ?? 0) > 0,
    notWritten: notWritten + (counts?.truncated ?? 0),
    eventsUnrouted: counts?.unrouted ?? {},
    missingFields: p.missing,
    error,
    ...(read.incomplete.length > 0 ? { shardFailures: [...read.incomplete] } : {}),
    ...(rereadFrom(rule, window, read) !== undefined ? { rereadFrom: rereadFrom(rule, window, read) } : {}),
    ...(read.maxIngestLagMs !== undefined ? { ingestLagMs: Math.max(0, Math.round(read.maxIngestLagMs)) } : {}),
    ...(counts?.groups !== undefined ? { groups: counts.groups } : {}),
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
    ...(record.alertsSuppressed !== undefined ? { alerts_suppressed: record.alertsSuppressed } : {}),
    duration_ms: record.finishedAt - record.startedAt,
    read_mode: read.mode,
    ...(record.rereadFrom !== undefined ? { reread_from: new Date(record.rereadFrom).toISOString() } : {}),
    ...(record.ingestLagMs !== undefined ? { ingest_lag_ms: record.ingestLagMs } : {}),
    ...(read.widened ? { read_widened: true } : {}),
    ...(read.narrowed ? { read_narrowed: true } : {}),
    // Kibana's built-in Endpoint list, named by the rule and provided by nobody (exceptions/attach.ts).
    ...(rule.exceptions?.assumedEmpty ? { exception_lists_applied_empty: rule.exceptions.assumedEmpty } : {}),
    ...(record.groups !== undefined ? { groups: record.groups } : {}),
    ...(skippedHits > 0 || (counts && counts.eventsSkipped > 0) ? { skipped_reasons: { ...read.skipped, ...counts?.skippedReasons } } : {}),
  };
  const unrouted = Object.entries(counts?.unrouted ?? {});
  if (unrouted.length > 0) {
    log.warn(`${unrouted.reduce((n, [, c]) => n + c, 0)} event(s) read but not evaluated: their index fits none of the rule's field mapping pipelines (${unrouted.map(([i, c]) => `${i}: ${c}`).join(', ')}); add the index pattern to a pipeline in mappings/sigma or set the rule's lookout.index`, { ...fields, unrouted_indices: Object.fromEntries(unrouted) });
  }
  const approximate = rule.compiled.approximate ?? [];
  if (approximate.length > 0) {
    log.warn(`the in-memory check approximates the server's verdict on ${approximate.map((f) => (f === '*' ? 'field-less terms (*)' : f)).join(', ')} (text fields, field-less terms or conflicting types): an event the query selected may be judged otherwise here`, { ...fields, approximate_fields: approximate });
  }
  if (p.missing.length > 0) {
    log.warn(`field(s) no target index has: ${p.missing.join(', ')}; a selection on them never matches and a filter on them never applies`, { ...fields, missing_fields: p.missing });
  }
  if (counts && counts.truncated > 0) {
    log.warn(`max_signals reached: ${counts.truncated} new alert(s) not written this execution (cap ${rule.maxSignals}); the next overlapping execution will write them`, fields);
  }
  if (error) log.error(`execution ${record.status}: ${error}`, { ...fields, ...(record.shardFailures ? { shard_failures: record.shardFailures } : {}) });
  else log.info('execution finished', fields);
  return { record, counts, read, query: p.query };
}
