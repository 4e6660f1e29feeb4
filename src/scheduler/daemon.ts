/**
 * The long-lived runner: node-cron fires each rule at its interval; a rule never runs twice at
 * once (a tick that finds it running is skipped and logged); `stop()` stops the timers, waits
 * for executions in flight and gives up its leases, so SIGTERM ends cleanly.
 *
 * Several runners can share a cluster: before each execution a runner takes (or renews) the
 * rule's lease in the state index, with optimistic concurrency and an expiry, so each window is
 * executed by one runner. If the holder dies, its lease expires and another runner takes over,
 * catching up from the last successful window.
 */
import { randomUUID } from 'node:crypto';
import cron, { type ScheduledTask } from 'node-cron';
import type { Metrics } from '../ops/metrics.js';
import type { Health } from '../ops/server.js';
import type { Rule } from '../rules/model.js';
import type { ExecutionRecord, RuleState } from '../state/store.js';
import { ClusterClock } from './clock.js';
import { executeRules, shareKey, type ExecuteDeps } from './execute.js';
import { fillGaps } from './gaps.js';
import { scheduledWindow, type Window } from './window.js';

/** Default settle time after an outage or a failure (DaemonOptions.settleMs). */
export const DEFAULT_SETTLE_MS = 5 * 60_000;

/** A cron expression (with seconds) that fires every `ms`, or undefined if cron cannot say it. */
export function cronFor(ms: number): string | undefined {
  const s = ms / 1000;
  if (!Number.isInteger(s) || s < 1) return undefined;
  if (s < 60 && 60 % s === 0) return `*/${s} * * * * *`;
  const m = s / 60;
  if (Number.isInteger(m) && m < 60 && 60 % m === 0) return `0 */${m} * * * *`;
  const h = m / 60;
  if (Number.isInteger(h) && h < 24 && 24 % h === 0) return `0 0 */${h} * * *`;
  if (h === 24) return '0 0 0 * * *';
  return undefined;
}

export interface DaemonOptions {
  /** This runner's name in leases. */
  readonly owner?: string;
  /** Lease duration; default: the rule's interval plus a minute. */
  readonly leaseTtlMs?: number;
  readonly metrics?: Metrics;
  /** Fill recorded gaps of the rules this runner holds, one chunk per rule per tick (default false). */
  readonly fillGaps?: boolean;
  /**
   * How long after an outage or a failed execution the data may still be arriving (shippers
   * send what they queued): until then every execution reads the affected time again, and
   * recorded gaps wait. Default 5 minutes; 0 turns this off.
   */
  readonly settleMs?: number;
}

/** Whether an error (or what caused it) says the cluster gave no answer at all. */
function unreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: string }).name;
    if (name === 'ConnectionError' || name === 'TimeoutError' || name === 'NoLivingConnectionsError') return true;
    if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|ENOTFOUND/.test(String((e as { code?: string }).code ?? ''))) return true;
  }
  return false;
}

export class Daemon {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly lastStart = new Map<string, number>();
  private readonly latest = new Map<string, { status: string; at: number; error?: string }>();
  private readonly held = new Set<string>();
  /** Rules found without unfilled gaps: not searched again until this runner records one. */
  private readonly noGaps = new Set<string>();
  /**
   * Rules whose scheduled ticks did not succeed, with the earliest start of their windows: the
   * next execution is settling and reads again from there. Not from its own window's start: a
   * tick that began during an outage can still succeed once the cluster is back, before the data
   * of the outage has arrived, and move the rule's windows past that time.
   */
  private readonly troubled = new Map<string, number>();
  /** Per rule, until when its data may still be arriving (see DaemonOptions.settleMs). */
  private readonly settleUntil = new Map<string, number>();
  private readonly startedAt = Date.now();
  private readonly deps: ExecuteDeps;
  private readonly owner: string;
  private readonly clusterClock: ClusterClock;
  private stopped = false;

  constructor(
    deps: ExecuteDeps,
    private readonly rules: readonly Rule[],
    private readonly maxCatchupMs: number,
    private readonly options: DaemonOptions = {},
  ) {
    this.owner = options.owner ?? `runner-${process.pid}`;
    this.clusterClock = new ClusterClock(deps.client, deps.logger, deps.clock ?? Date.now);
    this.deps = {
      ...deps,
      onRecord: (r: ExecutionRecord) => {
        this.latest.set(r.ruleId, { status: r.status, at: r.finishedAt, error: r.error });
        if (r.gap) this.noGaps.delete(r.ruleId);
        if (r.kind === 'scheduled' && r.status !== 'succeeded') this.troubled.set(r.ruleId, Math.min(this.troubled.get(r.ruleId) ?? Infinity, r.window.start));
        options.metrics?.observe(r);
        deps.onRecord?.(r);
      },
    };
  }

  /** For /healthz. */
  health(): Health {
    return { latest: this.latest, rules: this.rules.length, startedAt: this.startedAt };
  }

  /**
   * Runs every rule once now, then on its schedule. Rules with the same interval that read the
   * same indices the same way tick together and, when their windows agree, share one read.
   */
  start(): void {
    const groups = new Map<string, Rule[]>();
    for (const rule of this.rules) {
      const key = `${rule.intervalMs}|${shareKey(rule)}`;
      groups.set(key, [...(groups.get(key) ?? []), rule]);
    }
    for (const [key, rules] of groups) {
      const intervalMs = rules[0].intervalMs;
      const expr = cronFor(intervalMs);
      // Intervals cron cannot express (7m, 90s) tick every second and run when due.
      const task = cron.schedule(expr ?? '* * * * * *', () => this.tick(key, rules, expr === undefined), { noOverlap: false, name: key });
      this.tasks.push(task);
      for (const rule of rules) {
        this.deps.logger.info(`scheduled every ${intervalMs / 1000}s`, { rule_id: rule.ruleId, rule: rule.name, cron: expr ?? 'every second, run when due', shared_with: rules.length - 1 });
      }
      this.tick(key, rules, false);
    }
  }

  private tick(key: string, rules: readonly Rule[], onlyWhenDue: boolean): void {
    if (this.stopped) return;
    const now = (this.deps.clock ?? Date.now)();
    if (onlyWhenDue && now - (this.lastStart.get(key) ?? 0) < rules[0].intervalMs) return;
    if (this.running.has(key)) {
      for (const rule of rules) this.deps.logger.warn('previous execution still running; this tick is skipped', { rule_id: rule.ruleId, rule: rule.name });
      return;
    }
    this.lastStart.set(key, now);
    const run = this.runOnce(rules).finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** One tick of a group: take the leases, compute each rule's window, execute by window. */
  private async runOnce(rules: readonly Rule[]): Promise<void> {
    let now: number;
    try {
      now = await this.clusterClock.now();
    } catch (err) {
      const at = (this.deps.clock ?? Date.now)();
      for (const rule of rules) await this.cannotStart(rule, 'clock', err, at);
      return;
    }
    const byWindow = new Map<string, { window: Window; rules: Rule[] }>();
    for (const rule of rules) {
      let stage = 'lease';
      try {
        const lease = await this.deps.store.acquireLease(rule.ruleId, this.owner, this.options.leaseTtlMs ?? rule.intervalMs + 60_000, now);
        this.options.metrics?.lease.set({ rule_id: rule.ruleId }, lease.held ? 1 : 0);
        if (!lease.held) {
          this.held.delete(rule.ruleId);
          // Another runner may record gaps meanwhile: look again when the lease comes back.
          this.noGaps.delete(rule.ruleId);
          this.deps.logger.debug(`lease held by ${lease.holder}; this runner skips the window`, { rule_id: rule.ruleId, rule: rule.name, until: lease.expires ? new Date(lease.expires).toISOString() : undefined });
          continue;
        }
        this.held.add(rule.ruleId);
        stage = 'state';
        const state = await this.deps.store.ruleState(rule.ruleId);
        const window = this.settlingWindow(rule, now, state);
        const wkey = `${window.start}|${window.end}|${window.gap?.start ?? ''}|${window.settling ?? false}`;
        const g = byWindow.get(wkey) ?? { window, rules: [] };
        g.rules.push(rule);
        byWindow.set(wkey, g);
      } catch (err) {
        await this.cannotStart(rule, stage, err, now);
      }
    }
    for (const g of byWindow.values()) {
      this.options.metrics?.inFlight.inc();
      try {
        await executeRules(this.deps, g.rules, g.window, 'scheduled');
      } catch (err) {
        for (const rule of g.rules) await this.cannotStart(rule, 'execution', err, now);
      } finally {
        this.options.metrics?.inFlight.dec();
      }
    }
    if (this.options.fillGaps) await this.fillSomeGaps(rules.filter((r) => this.held.has(r.ruleId)));
  }

  /**
   * The scheduled window, reaching back to the rule's `reread_from` (and to the earliest window of
   * the ticks that did not succeed) while data may still be arriving. The data is settling after a catch-up (the last success is older than the normal
   * look-back: an outage, or no runner), after a tick that did not succeed, and (after a restart)
   * while the state still asks for a re-read; it has settled `settleMs` after the last of these.
   * A settling execution keeps its window's start for the next ones to read again; the first
   * execution after the data settled reads it once more and clears it (execute.ts rereadFrom).
   */
  private settlingWindow(rule: Rule, now: number, state: RuleState): Window {
    const settleMs = this.options.settleMs ?? DEFAULT_SETTLE_MS;
    let window = scheduledWindow(rule, now, state.lastSuccessEnd, this.maxCatchupMs);
    if (settleMs <= 0) return window;
    const catchUp = state.lastSuccessEnd !== undefined && state.lastSuccessEnd < now - rule.lookbackMs;
    const askedBefore = state.rereadFrom !== undefined && !this.settleUntil.has(rule.ruleId);
    const troubledFrom = this.troubled.get(rule.ruleId);
    if (catchUp || troubledFrom !== undefined || askedBefore) {
      this.settleUntil.set(rule.ruleId, Math.max(this.settleUntil.get(rule.ruleId) ?? 0, now + settleMs));
      this.troubled.delete(rule.ruleId);
    }
    if (troubledFrom !== undefined && troubledFrom < window.start) window = { ...window, start: troubledFrom };
    if (state.rereadFrom !== undefined && state.rereadFrom < window.start) window = { ...window, start: state.rereadFrom };
    if ((this.settleUntil.get(rule.ruleId) ?? 0) > now) window = { ...window, settling: true };
    return window;
  }

  /**
   * After the tick's own executions: one chunk (at most an hour of events) of the oldest recorded
   * gap of each rule this runner holds, so filling never starves the scheduled windows.
   */
  private async fillSomeGaps(rules: readonly Rule[]): Promise<void> {
    for (const rule of rules) {
      if (this.stopped) return;
      if (this.noGaps.has(rule.ruleId)) continue;
      // Data for a gap may still be arriving: fill it once settled, or it would be filled short.
      if ((this.settleUntil.get(rule.ruleId) ?? 0) > (this.deps.clock ?? Date.now)()) continue;
      try {
        const result = await fillGaps(this.deps, [rule], { maxChunks: 1 });
        if (result.gaps === 0) this.noGaps.add(rule.ruleId);
        for (const f of result.failed) this.deps.logger.warn(`gap fill stopped; retried next tick: ${f.error}`, { rule_id: rule.ruleId, rule: rule.name });
      } catch (err) {
        this.deps.logger.warn(`cannot fill gaps now: ${err instanceof Error ? err.message : String(err)}`, { rule_id: rule.ruleId, rule: rule.name });
      }
    }
  }

  /**
   * A tick that could not start leaves a failed record like any execution (queued by the store
   * while the cluster is down), with why: `cluster_unreachable` when no answer came, else the
   * stage that failed (clock, lease, state, execution). Counted in /metrics by that reason.
   */
  private async cannotStart(rule: Rule, stage: string, err: unknown, now: number): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const reason = unreachable(err) ? 'cluster_unreachable' : stage;
    this.deps.logger.error(`execution could not start: ${message}`, { rule_id: rule.ruleId, rule: rule.name, reason });
    const at = (this.deps.clock ?? Date.now)();
    const record: ExecutionRecord = {
      executionId: randomUUID(), ruleId: rule.ruleId, ruleName: rule.name, kind: 'scheduled', status: 'failed',
      startedAt: at, finishedAt: at, window: { start: now - rule.lookbackMs, end: now },
      eventsRead: 0, eventsSkipped: 0, matches: 0, alertsWritten: 0, duplicatesSkipped: 0, truncated: false, notWritten: 0,
      error: `${stage}: ${message}`, notStarted: reason,
    };
    // While the cluster is down the store keeps the record and writes it with the next one that
    // can be written; trying now would only wait out the client's retries again.
    if (reason === 'cluster_unreachable') this.deps.store.defer(record);
    else await this.deps.store.record(record).catch(() => undefined);
    this.deps.onRecord?.(record);
  }

  /** Rules whose lease this runner holds. */
  get leases(): readonly string[] {
    return [...this.held];
  }

  /** Number of groups executing now. */
  get inFlight(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks) await t.stop();
    await Promise.allSettled([...this.running.values()]);
    await Promise.allSettled([...this.held].map((id) => this.deps.store.releaseLease(id, this.owner)));
    this.held.clear();
  }
}
