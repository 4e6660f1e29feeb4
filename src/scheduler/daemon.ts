/**
 * The long-lived runner: node-cron fires each rule at its interval; a rule never runs twice at
 * once (a tick that finds it running is skipped and logged); `stop()` stops the timers and
 * waits for executions in flight, so SIGTERM ends cleanly.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Rule } from '../rules/model.js';
import { executeRule, type ExecuteDeps } from './execute.js';
import { scheduledWindow } from './window.js';

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

export class Daemon {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly lastStart = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly deps: ExecuteDeps,
    private readonly rules: readonly Rule[],
    private readonly maxCatchupMs: number,
  ) {}

  /** Runs every rule once now, then on its schedule. */
  start(): void {
    for (const rule of this.rules) {
      const expr = cronFor(rule.intervalMs);
      // Intervals cron cannot express (7m, 90s) tick every second and run when due.
      const task = cron.schedule(expr ?? '* * * * * *', () => this.tick(rule, expr === undefined), { noOverlap: false, name: rule.ruleId });
      this.tasks.push(task);
      this.deps.logger.info(`scheduled every ${rule.intervalMs / 1000}s`, { rule_id: rule.ruleId, rule: rule.name, cron: expr ?? 'every second, run when due' });
      this.tick(rule, false);
    }
  }

  private tick(rule: Rule, onlyWhenDue: boolean): void {
    if (this.stopped) return;
    const now = (this.deps.clock ?? Date.now)();
    if (onlyWhenDue && now - (this.lastStart.get(rule.ruleId) ?? 0) < rule.intervalMs) return;
    if (this.running.has(rule.ruleId)) {
      this.deps.logger.warn('previous execution still running; this tick is skipped', { rule_id: rule.ruleId, rule: rule.name });
      return;
    }
    this.lastStart.set(rule.ruleId, now);
    const run = this.runOnce(rule).finally(() => this.running.delete(rule.ruleId));
    this.running.set(rule.ruleId, run);
  }

  private async runOnce(rule: Rule): Promise<void> {
    try {
      const now = (this.deps.clock ?? Date.now)();
      const state = await this.deps.store.ruleState(rule.ruleId);
      const window = scheduledWindow(rule, now, state.lastSuccessEnd, this.maxCatchupMs);
      await executeRule(this.deps, rule, window, 'scheduled');
    } catch (err) {
      this.deps.logger.error(`execution could not start: ${err instanceof Error ? err.message : String(err)}`, { rule_id: rule.ruleId, rule: rule.name });
    }
  }

  /** Number of executions in flight. */
  get inFlight(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks) await t.stop();
    await Promise.allSettled([...this.running.values()]);
  }
}
