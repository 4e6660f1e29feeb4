/**
 * The `lookout` command line: a thin layer over the library. Commands: run, backfill, validate,
 * test-rule. Exit status 0 on success, 1 when something failed, 2 for a usage error.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config/env.js';
import type { EventRecord, RuleMatch } from '../engine/events.js';
import { ConfigError, errorMessage, EventsInputError, LookoutError, MappingFileError, OutOfOrderError } from '../errors.js';
import type { FieldTypeMap } from '../eql/types.js';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logging/logger.js';
import type { RuleSet } from '../rules/load.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { Rule } from '../rules/model.js';
import type { Window } from '../scheduler/window.js';

// Start-up: each command imports the modules it uses when it runs (`await import(...)` at the top
// of each command below), so `--help` and `validate` do not load the Elasticsearch client,
// winston, prom-client, node-cron or the engine. Types come in with `import type` (erased).

const USAGE = `Usage: lookout <command> [options]

Commands:
  run [--once]                      run the rules on their schedules (the daemon); --once: one
                                    execution of every rule, then exit
  backfill --from <time> --to <time> [--rule <rule_id>] [--step <duration>]
                                    run rules over a past range; resumes where it stopped
  backfill --gaps [--rule <rule_id>]
                                    fill every gap the executions recorded (resumes, marks
                                    each gap filled)
  status                            per rule: last execution, status, gap, lease, next run
  validate [paths...] [--cluster]   load and check rules (default: LOOKOUT_RULES_DIR); --cluster:
                                    also name the fields no target index has
  test-rule <rule-file> --events <file.ndjson[.gz]|-> [--now <time>] [--parse-all] [--raw]
            [--max-samples-per-key <n>] [--mapping <file.json>] [--table]
                                    evaluate a rule on events from a file (gzip or not) or
                                    standard input (-), offline, streaming; prints the alert
                                    documents it would write, one JSON line each; --parse-all:
                                    parse every line (by default lines without any value the
                                    rule requires are passed over); --raw: the engine's results
                                    instead (each match's events in order, null for a missing
                                    event, and its join keys); --max-samples-per-key: samples
                                    per join key of a sample query (overrides the rule's
                                    max_samples_per_key; default 1); --mapping: the index
                                    mapping (or a _field_caps response), so date, ip and version
                                    fields compare as Elasticsearch does (and, for ES|QL, the
                                    columns' types); --table (ES|QL rules): the query's result
                                    table instead (columns with types, then rows, in order)

Configuration comes from environment variables and .env; see .env.example.`;

export interface CliIO {
  /** Read by `test-rule --events -` (default process.stdin). */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

class UsageError extends LookoutError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

function parseTime(text: string, option: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${option}: expected an ISO 8601 time or epoch milliseconds, found "${text}"`);
  return ms;
}

function reportRuleSet(set: RuleSet, logger: Logger): void {
  for (const e of set.errors) logger.error(`rule not loaded: ${e.message}`, { file: e.ruleFile });
  for (const s of set.skipped) logger.warn(`rule skipped: ${s.reason}`, { file: s.file, rule_id: s.ruleId });
  for (const r of set.disabled) logger.info('rule disabled (enabled = false): loaded, not run', { file: r.file, rule_id: r.ruleId });
  logger.info(`${set.rules.length} rule(s) loaded, ${set.disabled.length} disabled (not run), ${set.skipped.length} skipped, ${set.errors.length} with errors`);
}

/** Why no rule with this rule_id runs: disabled, or not loaded at all. */
function notRunnable(set: RuleSet, ruleId: string): string {
  const off = set.disabled.find((r) => r.ruleId === ruleId);
  return off ? `rule_id ${ruleId} is disabled (enabled = false in ${off.file}): it is not run` : `no loaded rule has rule_id ${ruleId}`;
}

async function cmdValidate(args: string[], io: CliIO, config: Config): Promise<number> {
  const { loadRules } = await import('../rules/load.js');
  const { values, positionals } = parseArgs({ args, options: { cluster: { type: 'boolean', default: false } }, allowPositionals: true });
  const paths = positionals.length > 0 ? positionals : [config.rulesDir];
  const set = await loadRules(paths, { sigmaPipelines: config.sigmaPipelines });
  // A disabled rule is valid (Kibana keeps it) and is not scheduled: `ok (disabled)`.
  for (const r of [...set.rules, ...set.disabled].sort((a, b) => a.file.localeCompare(b.file))) {
    const empty = r.exceptions?.assumedEmpty ?? [];
    io.stdout.write(`${r.enabled ? 'ok      ' : 'ok (disabled)'} ${r.file}: ${r.name} (${r.ruleId})${r.exceptions ? `, ${r.exceptions.itemCount} exception item(s) from ${r.exceptions.lists.map((l) => l.list_id).join(', ')}` : ''}` +
      `${empty.map((id) => `; ${id}: not provided, applied as empty`).join('')}\n`);
  }
  if (values.cluster) {
    const { createClient } = await import('../search/client.js');
    const { fetchFieldTypes } = await import('../search/field-caps.js');
    const { missingFields } = await import('../search/missing-fields.js');
    // Read-only: one `_field_caps` per rule over its indices; nothing is installed.
    const client = createClient(config.elasticsearch);
    try {
      for (const r of [...set.rules, ...set.disabled]) {
        const missing = missingFields(r, await fetchFieldTypes(client, r.indices, r.compiled.fields));
        if (missing.length > 0) io.stdout.write(`warning  ${r.file}: ${r.name}: field(s) no index of ${r.indices.join(', ')} has: ${missing.join(', ')}\n`);
      }
    } finally {
      await client.close();
    }
  }
  for (const s of set.skipped) io.stdout.write(`skipped  ${s.file}: ${s.reason}\n`);
  for (const e of set.errors) io.stdout.write(`error    ${e.message}\n`);
  io.stdout.write(`${set.rules.length + set.disabled.length} valid, ${set.skipped.length} skipped, ${set.errors.length} invalid; ${set.disabled.length} of the valid disabled (not run)\n`);
  return set.errors.length > 0 ? 1 : 0;
}

async function cmdTestRule(args: string[], io: CliIO, config: Config): Promise<number> {
  const { loadRules } = await import('../rules/load.js');
  const { withFieldTypes } = await import('../rules/typed.js');
  const { linePrefilter, lineTestTypes } = await import('../search/line-prefilter.js');
  const { pushedQuery, sourceFields } = await import('../scheduler/execute.js');
  const { problemsAfter, readEvents } = await import('./events-file.js');
  const { values, positionals } = parseArgs({ args, options: { events: { type: 'string' }, now: { type: 'string' }, 'parse-all': { type: 'boolean', default: false }, raw: { type: 'boolean', default: false }, 'max-samples-per-key': { type: 'string' }, mapping: { type: 'string' }, table: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1 || !values.events) throw new UsageError('test-rule needs a rule file and --events <file.ndjson>');
  const set = await loadRules([positionals[0]], { sigmaPipelines: config.sigmaPipelines });
  for (const e of set.errors) io.stderr.write(`error: ${e.message}\n`);
  for (const s of set.skipped) io.stderr.write(`skipped: ${s.file}: ${s.reason}\n`);
  if (set.rules.length !== 1) return 1;
  let rule = set.rules[0];
  if (rule.compiled.plan !== 'streamed') throw new UsageError(`test-rule: ${rule.file} aggregates on the server (a ${rule.type} rule); it cannot run over an events file`);
  const perKey = values['max-samples-per-key'];
  if (perKey !== undefined) {
    if (!/^\d+$/.test(perKey) || Number(perKey) < 1 || Number(perKey) > 10_000) throw new UsageError(`--max-samples-per-key: expected a whole number from 1 to 10000, found "${perKey}"`);
    if (rule.compiled.kind !== 'sample') throw new UsageError(`--max-samples-per-key: only a sample query takes it; ${rule.file} is a ${rule.compiled.kind === 'event' ? 'single event query' : rule.compiled.kind}`);
    rule = { ...rule, maxSamplesPerKey: Number(perKey) };
  }
  const mapping = values.mapping ? await readMappingFile(values.mapping) : undefined;
  if (mapping) {
    rule = withFieldTypes(rule, mapping);
  } else if (rule.compiled.withFieldTypes) {
    io.stderr.write('note: no --mapping: values compare by their JSON type (numbers with numeric strings, other values as text); give --mapping <file> to compare date, ip and version fields as Elasticsearch does\n');
  }
  const approximate = rule.compiled.approximate ?? [];
  if (approximate.length > 0) {
    io.stderr.write(`note: the in-memory verdict approximates the server's on ${approximate.map((f) => (f === '*' ? 'field-less terms (*)' : f)).join(', ')}` +
      `${mapping ? ' (text fields, conflicting or unknown types)' : ' (no --mapping: values compare as they are in the document)'}; on the cluster the server's query decides which events are read\n`);
  }
  if (rule.enrichments.length > 0 && !values.raw) io.stderr.write(`note: enrichments (${rule.enrichments.join(', ')}) look up Elasticsearch and are not applied offline\n`);
  const now = values.now ? new Date(parseTime(values.now, '--now')) : new Date();
  const path = values.events;
  let skipped = 0;
  const report = (message: string) => {
    skipped++;
    io.stderr.write(`skipped event: ${message}\n`);
  };
  const untimed = (message: string) => io.stderr.write(`kept without a time (a sample does not use time): ${message}\n`);
  const lineTypes = lineTestTypes(offlineTypes(rule, mapping), (types) => pushedQuery(rule, types), (f) => mapping?.get(f)?.type === undefined);
  // Numbers ask for their digits on fields the mapping does not type, or types as numbers with no
  // null_value (a date compared with epoch milliseconds is written otherwise in the line).
  const numericTypes = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
  const test = values['parse-all'] ? undefined : linePrefilter(pushedQuery(rule, lineTypes), (f) => {
    const t = mapping?.get(f);
    return t === undefined || (t !== null && numericTypes.has(t.type) && t.nullValue === undefined);
  });
  const evaluate = async (sort: boolean, onProblem: (message: string) => void, onUntimed: (message: string) => void) => {
    const lineTest = test ? { test, passedOver: 0 } : undefined;
    const pages = readEvents(path, rule, { includes: sourceFields(rule), onProblem, onUntimed, sort, stdin: io.stdin, lineTest });
    const result = values.table ? await tableResults(rule, pages, now) : values.raw ? await rawResults(rule, pages, now) : await alertResults(rule, pages, now, config.alertsIndex);
    return { ...result, passedOver: lineTest?.passedOver ?? 0 };
  };
  let result: Awaited<ReturnType<typeof evaluate>>;
  try {
    result = await evaluate(false, report, untimed);
  } catch (err) {
    if (!(err instanceof OutOfOrderError)) throw err;
    if (path === '-') {
      throw new EventsInputError(`${err.message}; standard input can be read only once: write it to a file and pass the file (Lookout sorts a file itself), or sort the input by ${rule.timestampField} first`, { cause: err });
    }
    io.stderr.write(`note: ${err.message}; reading it again through an external sort (temporary files, bounded memory)\n`);
    result = await evaluate(true, problemsAfter(err.line, report), problemsAfter(err.line, untimed));
  }
  for (const line of result.lines) io.stdout.write(`${line}\n`);
  io.stderr.write(`${result.summary}${skipped > 0 ? `; ${skipped} line(s) skipped` : ''}` +
    `${result.passedOver > 0 ? `; ${result.passedOver} line(s) passed over unparsed (they hold none of the values the rule requires; --parse-all reads every line)` : ''}\n`);
  return 0;
}

/**
 * Field types for the offline line test: keyword (what a query on strings assumes) unless the
 * mapping gives another type, which the pushdown then treats as it would on the cluster, and a
 * typed comparison (a date, an ip) is never narrowed to one spelling of its value. A field the
 * mapping does not type and the rule compares only with numbers is then taken as numeric
 * (lineTestTypes), so that its numbers narrow the line test too.
 */
function offlineTypes(rule: Rule, mapping: FieldTypeMap | undefined): FieldTypes {
  const keyword = new Set(['keyword', 'constant_keyword', 'wildcard']);
  return new Map(rule.compiled.fields.map((f) => {
    const type = mapping?.get(f)?.type;
    return [f, new Set([type === undefined || keyword.has(type) ? 'keyword' : 'text'])];
  }));
}

/** One execution over the events: the alert documents it would write, and the counts. */
async function alertResults(rule: Rule, pages: AsyncIterable<readonly EventRecord[]>, now: Date, alertsIndex: string): Promise<{ lines: string[]; summary: string }> {
  const { MemoryAlertSink } = await import('../alerts/writer.js');
  const { runRule } = await import('../engine/run.js');
  const sink = new MemoryAlertSink();
  const counts = await runRule(rule, pages, sink, { now });
  const unrouted = Object.entries(counts.unrouted).map(([index, n]) => `not evaluated: ${n} event(s) from index ${index}: it fits none of the rule's field mapping pipelines` +
    `${index === 'events' ? ' (give the events as search hits with their _index)' : ''}`);
  return {
    lines: sink.alerts.map((a) => JSON.stringify({ _index: alertsIndex, _id: a.id, _source: a.doc })),
    summary: [...unrouted, `${counts.eventsRead} event(s), ${counts.matches} match(es), ${counts.alertsWritten} alert(s)` +
      `${counts.truncated > 0 ? `, ${counts.truncated} over max_signals (${rule.maxSignals}) not written` : ''}`].join('\n'),
  };
}

/** `test-rule --raw`: what the engine matched, one JSON line per match, in the order it found them. */
async function rawResults(rule: Rule, pages: AsyncIterable<readonly EventRecord[]>, now: Date): Promise<{ lines: string[]; summary: string }> {
  const { QueryEvaluator } = await import('../engine/evaluator.js');
  const { rawResult } = await import('../engine/raw.js');
  const { eventTimeText } = await import('../engine/events.js');
  const matches: RuleMatch[] = [];
  if (rule.compiled.plan !== 'streamed') throw new UsageError(`test-rule --raw: ${rule.file} aggregates on the server; it has no event matches to show`);
  const evaluator = new QueryEvaluator(rule.compiled, (m) => matches.push(m), { tiebreakerField: rule.tiebreakerField, maxSamplesPerKey: rule.maxSamplesPerKey, now: now.getTime() });
  let events = 0;
  for await (const page of pages) {
    for (const e of page) {
      events++;
      if (rule.filters.matches(e.source) && !rule.exceptions?.excepts(e.source, now.getTime())) evaluator.push(e);
    }
  }
  evaluator.flush();
  const lines = matches.map((m) => {
    const raw = rawResult(rule.compiled, m);
    const out = raw.events.map((e) => (e === null ? null : { _index: e.index, _id: e.id, timestamp: eventTimeText(e) }));
    return JSON.stringify({ join_keys: raw.joinKeys, events: out });
  });
  return { lines, summary: `${events} event(s), ${matches.length} match(es)` };
}

/** `test-rule --table` (ES|QL rules): the query's result table, columns with their types, rows in order. */
async function tableResults(rule: Rule, pages: AsyncIterable<readonly EventRecord[]>, now: Date): Promise<{ lines: string[]; summary: string }> {
  const { asEsql } = await import('../rules/esql.js');
  const { formatTable, resultTable } = await import('../esql/table.js');
  const q = asEsql(rule.compiled);
  if (!q) throw new UsageError(`test-rule --table: ${rule.file} is a ${rule.type} rule; only ES|QL rules have a result table`);
  const run = q.start(now);
  const rows = [];
  let events = 0;
  for await (const page of pages) {
    for (const e of page) {
      events++;
      if (run.done) continue;
      if (rule.filters.matches(e.source) && !rule.exceptions?.excepts(e.source, now.getTime())) rows.push(...run.push({ _source: e.source as Record<string, unknown>, _id: e.id, _index: e.index }));
    }
  }
  rows.push(...run.finish());
  const stats = run.stats();
  return {
    lines: formatTable(resultTable(rows, q.types)),
    summary: `${events} event(s), ${rows.length} row(s)${stats.groups > 0 ? `, ${stats.groups} group(s)` : ''}${stats.warnings > 0 ? `; ${stats.warnings} warning(s): ${stats.warningTexts.join('; ')}` : ''}`,
  };
}

async function readMappingFile(path: string): Promise<FieldTypeMap> {
  const { fieldTypesFromDocument } = await import('../eql/mapping-types.js');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MappingFileError(`--mapping ${path}: cannot read it (${errorMessage(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MappingFileError(`--mapping ${path}: not JSON (${errorMessage(err)})`);
  }
  return fieldTypesFromDocument(doc, path);
}

async function cmdRun(args: string[], config: Config, logger: Logger): Promise<number> {
  const { loadRules } = await import('../rules/load.js');
  const { WebhookNotifier } = await import('../alerts/notify.js');
  const { connect } = await import('../scheduler/runtime.js');
  const { values } = parseArgs({ args, options: { once: { type: 'boolean', default: false } } });
  const set = await loadRules([config.rulesDir], { sigmaPipelines: config.sigmaPipelines });
  reportRuleSet(set, logger);
  if (set.rules.length === 0) {
    logger.error(`no rule to run in ${config.rulesDir}`);
    return 1;
  }
  const notifier = new WebhookNotifier(config.webhook ? [config.webhook] : [], logger);
  const rt = { ...(await connect(config, logger)), notifier };
  if (values.once) {
    let failed = set.errors.length > 0;
    try {
      const { ClusterClock } = await import('../scheduler/clock.js');
      const { scheduledWindow } = await import('../scheduler/window.js');
      const { executeRules, shareKey } = await import('../scheduler/execute.js');
      // Rules over the same indices and window share one read.
      const clock = new ClusterClock(rt.client, logger);
      const now = await clock.now();
      const groups = new Map<string, { rules: Rule[]; window: Window }>();
      for (const rule of set.rules) {
        const state = await rt.store.ruleState(rule.ruleId);
        let window = scheduledWindow(rule, now, state.lastSuccessEnd, config.maxCatchupMs);
        // Time an earlier execution asked to be read again (its data was still arriving).
        if (state.rereadFrom !== undefined && state.rereadFrom < window.start) window = { ...window, start: state.rereadFrom };
        const key = `${shareKey(rule)}|${window.start}|${window.end}|${window.gap?.start ?? ''}`;
        const g = groups.get(key) ?? { rules: [], window };
        g.rules.push(rule);
        groups.set(key, g);
      }
      for (const g of groups.values()) {
        for (const { record } of await executeRules(rt, g.rules, g.window, 'once')) if (record.status !== 'succeeded') failed = true;
      }
    } finally {
      await rt.close();
    }
    return failed ? 1 : 0;
  }
  const { Metrics } = await import('../ops/metrics.js');
  const { startOpsServer } = await import('../ops/server.js');
  const { Daemon } = await import('../scheduler/daemon.js');
  const metrics = new Metrics();
  metrics.watchStore(rt.store);
  const owner = config.instanceId ?? `${hostname()}:${process.pid}`;
  const daemon = new Daemon(rt, set.rules, config.maxCatchupMs, { owner, metrics, leaseTtlMs: config.leaseTtlMs, fillGaps: config.fillGaps, settleMs: config.settleMs });
  let ops: Awaited<ReturnType<typeof startOpsServer>> | undefined;
  if (config.metrics.port !== 0) {
    try {
      ops = await startOpsServer(metrics, () => daemon.health(), config.metrics.host, config.metrics.port);
    } catch (err) {
      await rt.close();
      const code = (err as { code?: string }).code;
      const why = code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not allowed for this user' : `cannot be opened (${errorMessage(err)})`;
      throw new ConfigError(`the metrics endpoint cannot start: port ${config.metrics.port} on ${config.metrics.host} ${why}; set LOOKOUT_METRICS_PORT to a free port (0 turns the endpoints off) or LOOKOUT_METRICS_HOST to another address`);
    }
    logger.info(`metrics and health at ${ops.url}/metrics and ${ops.url}/healthz`);
  }
  logger.info(`runner ${owner} starting`);
  daemon.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info(`${signal} received; stopping after executions in flight (${daemon.inFlight})`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void daemon.stop().then(resolve);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  ops?.server.close();
  await rt.close();
  logger.info('stopped');
  return 0;
}

async function cmdStatus(io: CliIO, config: Config, logger: Logger): Promise<number> {
  const { loadRules } = await import('../rules/load.js');
  const { connect } = await import('../scheduler/runtime.js');
  const { cronFor } = await import('../scheduler/daemon.js');
  const set = await loadRules([config.rulesDir], { sigmaPipelines: config.sigmaPipelines });
  const rt = await connect(config, logger);
  try {
    await rt.client.indices.refresh({ index: config.stateIndex });
    const leases = await rt.store.leases();
    const now = Date.now();
    const rows: string[][] = [['rule', 'last execution', 'status', 'window', 'alerts', 'gap', 'lease', 'next run']];
    for (const rule of set.rules) {
      const [last] = await rt.store.executions(rule.ruleId, 1);
      const lease = leases.get(rule.ruleId);
      const started = last ? Date.parse(String(last.started_at)) : undefined;
      const next = started !== undefined ? nextRun(cronFor, rule.intervalMs, started) : undefined;
      const window = last?.window as { start: string; end: string } | undefined;
      const gap = last?.gap as { ms: number; filled?: boolean } | undefined;
      rows.push([
        rule.name.slice(0, 48),
        last ? String(last.started_at) : 'never',
        last ? String(last.status) + (last.error ? `: ${String(last.error).slice(0, 60)}` : '') : '-',
        window ? `${window.start.slice(11, 19)}-${window.end.slice(11, 19)}` : '-',
        last ? String(last.alerts_written) : '-',
        gap ? `${Math.round(gap.ms / 60_000)} min${gap.filled ? ' (filled)' : ''}` : 'none',
        lease ? `${lease.owner}${lease.expires < now ? ' (expired)' : ''}` : 'free',
        next !== undefined ? new Date(next).toISOString() : 'at daemon start',
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
    for (const rule of set.rules) {
      const [last] = await rt.store.executions(rule.ruleId, 1);
      const missing = last?.missing_fields as string[] | undefined;
      if (missing && missing.length > 0) io.stdout.write(`warning: ${rule.name}: field(s) no target index has (last execution): ${missing.join(', ')}\n`);
      const unrouted = last?.events_unrouted as number | undefined;
      if (unrouted) io.stdout.write(`warning: ${rule.name}: ${unrouted} event(s) of the last execution not evaluated: their index fits none of the rule's pipelines\n`);
    }
    for (const e of set.errors) io.stdout.write(`error: ${e.message}\n`);
    return set.errors.length > 0 ? 1 : 0;
  } finally {
    await rt.close();
  }
}

/** The next cron firing after `after` for an interval (the daemon's schedule). */
function nextRun(cronFor: (intervalMs: number) => unknown, intervalMs: number, after: number): number {
  return cronFor(intervalMs) ? Math.floor(after / intervalMs) * intervalMs + intervalMs : after + intervalMs;
}

async function cmdBackfill(args: string[], io: CliIO, config: Config, logger: Logger): Promise<number> {
  const { values } = parseArgs({ args, options: { from: { type: 'string' }, to: { type: 'string' }, rule: { type: 'string' }, step: { type: 'string' }, gaps: { type: 'boolean', default: false } } });
  if (values.gaps) {
    if (values.from || values.to || values.step) throw new UsageError('backfill --gaps takes the ranges from the recorded gaps: leave out --from, --to and --step');
    return cmdFillGaps(values.rule, config, logger);
  }
  if (!values.from || !values.to) throw new UsageError('backfill needs --from <time> and --to <time> (or --gaps)');
  const from = parseTime(values.from, '--from');
  const to = parseTime(values.to, '--to');
  if (to <= from) throw new UsageError(`--to (${values.to}) must be after --from (${values.from})`);
  let stepMs: number | undefined;
  if (values.step) {
    const { parseDuration } = await import('../config/duration.js');
    stepMs = parseDuration(values.step);
    if (!stepMs) throw new UsageError(`--step: expected a duration like 1h, found "${values.step}"`);
  }
  const { connect } = await import('../scheduler/runtime.js');
  // Connecting (the cluster check, the alerts and state indices: round trips) goes on while the
  // rule loaders are imported and the rules load (CPU). Without a rule to run, the connection is
  // closed unused and its error, if any, left out: the rules' error is the one to report.
  const connecting = connect(config, logger);
  connecting.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  const unused = () => connecting.then((rt) => rt.close(), () => undefined);
  let set: RuleSet;
  try {
    const { loadRules } = await import('../rules/load.js');
    set = await loadRules([config.rulesDir], { sigmaPipelines: config.sigmaPipelines });
  } catch (err) {
    await unused();
    throw err;
  }
  reportRuleSet(set, logger);
  const rules = values.rule ? set.rules.filter((r) => r.ruleId === values.rule) : set.rules;
  if (rules.length === 0) {
    logger.error(values.rule ? notRunnable(set, values.rule) : `no rule to run in ${config.rulesDir}`);
    await unused();
    return 1;
  }
  const { backfillRules } = await import('../scheduler/backfill.js');
  const { progressBar } = await import('./progress.js');
  const rt = await connecting;
  const bar = progressBar(io.stderr);
  let failed = false;
  try {
    const label = (rs: readonly { name: string }[]) => (rs.length === 1 ? rs[0].name : `${rs.length} rules`);
    const results = await backfillRules(rt, rules, { from, to, stepMs, concurrency: config.backfillConcurrency, onProgress: (d, t, rs) => bar.update(d, t, label(rs)) });
    bar.end();
    for (const result of results) {
      logger.info(`backfill ${result.failed ? 'stopped' : 'finished'}`, { ...result, rule_id: result.ruleId });
      if (result.failed) failed = true;
    }
  } finally {
    await rt.close();
  }
  return failed ? 1 : 0;
}

async function cmdFillGaps(ruleId: string | undefined, config: Config, logger: Logger): Promise<number> {
  const { loadRules } = await import('../rules/load.js');
  const { connect } = await import('../scheduler/runtime.js');
  const { fillGaps } = await import('../scheduler/gaps.js');
  const set = await loadRules([config.rulesDir], { sigmaPipelines: config.sigmaPipelines });
  reportRuleSet(set, logger);
  const rules = ruleId ? set.rules.filter((r) => r.ruleId === ruleId) : set.rules;
  if (rules.length === 0) {
    logger.error(ruleId ? notRunnable(set, ruleId) : `no rule to run in ${config.rulesDir}`);
    return 1;
  }
  const rt = await connect(config, logger);
  try {
    await rt.client.indices.refresh({ index: config.stateIndex });
    const result = await fillGaps(rt, rules, { concurrency: config.backfillConcurrency });
    for (const f of result.failed) logger.error(`gap fill stopped: ${f.error}`, { rule_id: f.ruleId });
    logger.info(`${result.filled} of ${result.gaps} recorded gap(s) filled`, { alerts_written: result.alertsWritten, chunks: result.chunks });
    return result.failed.length > 0 ? 1 : 0;
  } finally {
    await rt.close();
  }
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const { loadConfig, withDotEnv } = await import('../config/env.js');
  let config: Config;
  try {
    config = loadConfig(withDotEnv(io.env));
  } catch (err) {
    io.stderr.write(`lookout: ${errorMessage(err)}\n`);
    return 1;
  }
  // winston only for the commands that log (validate and test-rule print their results).
  const logger = async () => (await import('../logging/logger.js')).createLogger({ level: config.logLevel, format: config.logFormat, stream: io.stderr });
  try {
    switch (command) {
      case 'validate':
        return await cmdValidate(rest, io, config);
      case 'test-rule':
        return await cmdTestRule(rest, io, config);
      case 'run':
        return await cmdRun(rest, config, await logger());
      case 'backfill':
        return await cmdBackfill(rest, io, config, await logger());
      case 'status':
        return await cmdStatus(io, config, await logger());
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`lookout: ${errorMessage(err)}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof LookoutError) {
      io.stderr.write(`lookout: ${errorMessage(err)}\n`);
      return 1;
    }
    io.stderr.write(`lookout: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  }
}
