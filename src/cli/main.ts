/**
 * The `lookout` command line: a thin layer over the library. Commands: run, backfill, validate,
 * test-rule. Exit status 0 on success, 1 when something failed, 2 for a usage error.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { WebhookNotifier } from '../alerts/notify.js';
import { Metrics } from '../ops/metrics.js';
import { startOpsServer } from '../ops/server.js';
import { ClusterClock } from '../scheduler/clock.js';
import { cronFor } from '../scheduler/daemon.js';
import { MemoryAlertSink } from '../alerts/writer.js';
import { loadConfig, withDotEnv, type Config } from '../config/env.js';
import { runRule } from '../engine/run.js';
import { ConfigError, errorMessage, EventsInputError, LookoutError, OutOfOrderError } from '../errors.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { loadRules, type RuleSet } from '../rules/load.js';
import { backfillRules } from '../scheduler/backfill.js';
import { Daemon } from '../scheduler/daemon.js';
import { executeRules, pushedQuery, shareKey, sourceFields } from '../scheduler/execute.js';
import { linePrefilter } from '../search/line-prefilter.js';
import type { Rule } from '../rules/model.js';
import type { Window } from '../scheduler/window.js';
import { connect } from '../scheduler/runtime.js';
import { scheduledWindow } from '../scheduler/window.js';
import { problemsAfter, readEvents } from './events-file.js';
import { progressBar } from './progress.js';

const USAGE = `Usage: lookout <command> [options]

Commands:
  run [--once]                      run the rules on their schedules (the daemon); --once: one
                                    execution of every rule, then exit
  backfill --from <time> --to <time> [--rule <rule_id>] [--step <duration>]
                                    run rules over a past range; resumes where it stopped
  status                            per rule: last execution, status, gap, lease, next run
  validate [paths...]               load and check rules (default: LOOKOUT_RULES_DIR)
  test-rule <rule-file> --events <file.ndjson[.gz]|-> [--now <time>] [--parse-all]
                                    evaluate a rule on events from a file (gzip or not) or
                                    standard input (-), offline, streaming; prints the alert
                                    documents it would write, one JSON line each

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
  logger.info(`${set.rules.length} rule(s) loaded, ${set.skipped.length} skipped, ${set.errors.length} with errors`);
}

async function cmdValidate(args: string[], io: CliIO, config: Config): Promise<number> {
  const paths = args.length > 0 ? args : [config.rulesDir];
  const set = await loadRules(paths, { sigmaPipelines: config.sigmaPipelines });
  for (const r of set.rules) io.stdout.write(`ok       ${r.file}: ${r.name} (${r.ruleId})\n`);
  for (const s of set.skipped) io.stdout.write(`skipped  ${s.file}: ${s.reason}\n`);
  for (const e of set.errors) io.stdout.write(`error    ${e.message}\n`);
  io.stdout.write(`${set.rules.length} valid, ${set.skipped.length} skipped, ${set.errors.length} invalid\n`);
  return set.errors.length > 0 ? 1 : 0;
}

async function cmdTestRule(args: string[], io: CliIO, config: Config): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { events: { type: 'string' }, now: { type: 'string' }, 'parse-all': { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1 || !values.events) throw new UsageError('test-rule needs a rule file and --events <file.ndjson>');
  const set = await loadRules([positionals[0]], { sigmaPipelines: config.sigmaPipelines });
  for (const e of set.errors) io.stderr.write(`error: ${e.message}\n`);
  for (const s of set.skipped) io.stderr.write(`skipped: ${s.file}: ${s.reason}\n`);
  if (set.rules.length !== 1) return 1;
  const rule = set.rules[0];
  if (rule.enrichments.length > 0) io.stderr.write(`note: enrichments (${rule.enrichments.join(', ')}) look up Elasticsearch and are not applied offline\n`);
  const now = values.now ? new Date(parseTime(values.now, '--now')) : new Date();
  const path = values.events;
  let skipped = 0;
  const report = (message: string) => {
    skipped++;
    io.stderr.write(`skipped event: ${message}\n`);
  };
  // Offline there is no mapping: fields are taken as keyword, the type a query on strings assumes.
  const test = values['parse-all'] ? undefined : linePrefilter(pushedQuery(rule, new Map(rule.compiled.fields.map((f) => [f, new Set(['keyword'])]))));
  const evaluate = async (sort: boolean, onProblem: (message: string) => void) => {
    const sink = new MemoryAlertSink();
    const lineTest = test ? { test, passedOver: 0 } : undefined;
    const counts = await runRule(rule, readEvents(path, rule, { includes: sourceFields(rule), onProblem, sort, stdin: io.stdin, lineTest }), sink, { now });
    return { sink, counts, passedOver: lineTest?.passedOver ?? 0 };
  };
  let result: Awaited<ReturnType<typeof evaluate>>;
  try {
    result = await evaluate(false, report);
  } catch (err) {
    if (!(err instanceof OutOfOrderError)) throw err;
    if (path === '-') {
      throw new EventsInputError(`${err.message}; standard input can be read only once: write it to a file and pass the file (Lookout sorts a file itself), or sort the input by ${rule.timestampField} first`, { cause: err });
    }
    io.stderr.write(`note: ${err.message}; reading it again through an external sort (temporary files, bounded memory)\n`);
    result = await evaluate(true, problemsAfter(err.line, report));
  }
  const { sink, counts, passedOver } = result;
  for (const a of sink.alerts) io.stdout.write(`${JSON.stringify({ _index: config.alertsIndex, _id: a.id, _source: a.doc })}\n`);
  io.stderr.write(`${counts.eventsRead} event(s), ${counts.matches} match(es), ${counts.alertsWritten} alert(s)` +
    `${counts.truncated > 0 ? `, ${counts.truncated} over max_signals (${rule.maxSignals}) not written` : ''}` +
    `${skipped > 0 ? `; ${skipped} line(s) skipped` : ''}` +
    `${passedOver > 0 ? `; ${passedOver} line(s) passed over unparsed (they hold none of the values the rule requires; --parse-all reads every line)` : ''}\n`);
  return 0;
}

async function cmdRun(args: string[], config: Config, logger: Logger): Promise<number> {
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
      // Rules over the same indices and window share one read.
      const clock = new ClusterClock(rt.client, logger);
      const now = await clock.now();
      const groups = new Map<string, { rules: Rule[]; window: Window }>();
      for (const rule of set.rules) {
        const state = await rt.store.ruleState(rule.ruleId);
        const window = scheduledWindow(rule, now, state.lastSuccessEnd, config.maxCatchupMs);
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
  const metrics = new Metrics();
  const owner = config.instanceId ?? `${hostname()}:${process.pid}`;
  const daemon = new Daemon(rt, set.rules, config.maxCatchupMs, { owner, metrics, leaseTtlMs: config.leaseTtlMs });
  let ops: Awaited<ReturnType<typeof startOpsServer>> | undefined;
  if (config.metrics.port !== 0) {
    ops = await startOpsServer(metrics, () => daemon.health(), config.metrics.host, config.metrics.port);
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
      const next = started !== undefined ? nextRun(rule.intervalMs, started) : undefined;
      const window = last?.window as { start: string; end: string } | undefined;
      const gap = last?.gap as { ms: number } | undefined;
      rows.push([
        rule.name.slice(0, 48),
        last ? String(last.started_at) : 'never',
        last ? String(last.status) + (last.error ? `: ${String(last.error).slice(0, 60)}` : '') : '-',
        window ? `${window.start.slice(11, 19)}-${window.end.slice(11, 19)}` : '-',
        last ? String(last.alerts_written) : '-',
        gap ? `${Math.round(gap.ms / 60_000)} min` : 'none',
        lease ? `${lease.owner}${lease.expires < now ? ' (expired)' : ''}` : 'free',
        next !== undefined ? new Date(next).toISOString() : 'at daemon start',
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
    for (const e of set.errors) io.stdout.write(`error: ${e.message}\n`);
    return set.errors.length > 0 ? 1 : 0;
  } finally {
    await rt.close();
  }
}

/** The next cron firing after `after` for an interval (the daemon's schedule). */
function nextRun(intervalMs: number, after: number): number {
  return cronFor(intervalMs) ? Math.floor(after / intervalMs) * intervalMs + intervalMs : after + intervalMs;
}

async function cmdBackfill(args: string[], io: CliIO, config: Config, logger: Logger): Promise<number> {
  const { values } = parseArgs({ args, options: { from: { type: 'string' }, to: { type: 'string' }, rule: { type: 'string' }, step: { type: 'string' } } });
  if (!values.from || !values.to) throw new UsageError('backfill needs --from <time> and --to <time>');
  const from = parseTime(values.from, '--from');
  const to = parseTime(values.to, '--to');
  if (to <= from) throw new UsageError(`--to (${values.to}) must be after --from (${values.from})`);
  let stepMs: number | undefined;
  if (values.step) {
    const { parseDuration } = await import('../config/duration.js');
    stepMs = parseDuration(values.step);
    if (!stepMs) throw new UsageError(`--step: expected a duration like 1h, found "${values.step}"`);
  }
  const set = await loadRules([config.rulesDir], { sigmaPipelines: config.sigmaPipelines });
  reportRuleSet(set, logger);
  const rules = values.rule ? set.rules.filter((r) => r.ruleId === values.rule) : set.rules;
  if (rules.length === 0) {
    logger.error(values.rule ? `no loaded rule has rule_id ${values.rule}` : `no rule to run in ${config.rulesDir}`);
    return 1;
  }
  const rt = await connect(config, logger);
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

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(withDotEnv(io.env));
  } catch (err) {
    io.stderr.write(`lookout: ${errorMessage(err)}\n`);
    return 1;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, stream: io.stderr });
  try {
    switch (command) {
      case 'validate':
        return await cmdValidate(rest, io, config);
      case 'test-rule':
        return await cmdTestRule(rest, io, config);
      case 'run':
        return await cmdRun(rest, config, logger);
      case 'backfill':
        return await cmdBackfill(rest, io, config, logger);
      case 'status':
        return await cmdStatus(io, config, logger);
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
