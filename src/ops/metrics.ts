/**
 * Prometheus metrics (prom-client) on a registry of Lookout's own, fed from execution records:
 * executions by rule and status, their duration, events read, alerts written, duplicates,
 * truncations, gaps, and the lease each instance holds.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExecutionRecord } from '../state/store.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({ name: 'lookout_executions_total', help: 'Rule executions by rule and status', labelNames: ['rule_id', 'status'], registers: [this.registry] });
  private readonly duration = new Histogram({ name: 'lookout_execution_duration_seconds', help: 'Wall time of rule executions', labelNames: ['rule_id'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  private readonly events = new Counter({ name: 'lookout_events_read_total', help: 'Events read from Elasticsearch', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly alerts = new Counter({ name: 'lookout_alerts_written_total', help: 'Alerts written', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly duplicates = new Counter({ name: 'lookout_duplicates_skipped_total', help: 'Matches already alerted by an earlier execution', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly truncations = new Counter({ name: 'lookout_truncations_total', help: 'Executions that hit max_signals', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly notWritten = new Counter({ name: 'lookout_alerts_not_written_total', help: 'New alerts not written (max_signals or write failures)', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly gaps = new Counter({ name: 'lookout_gaps_total', help: 'Executions that recorded a gap', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly gapSeconds = new Counter({ name: 'lookout_gap_seconds_total', help: 'Time left unevaluated by gaps', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly unrouted = new Counter({ name: 'lookout_events_unrouted_total', help: 'Events read but not evaluated: their index fits none of the Sigma rule\'s field mapping pipelines', labelNames: ['rule_id'], registers: [this.registry] });
  private readonly missing = new Gauge({ name: 'lookout_rule_missing_fields', help: 'Fields the rule uses that no target index has (at its last execution)', labelNames: ['rule_id'], registers: [this.registry] });
  readonly lease = new Gauge({ name: 'lookout_lease_held', help: '1 while this instance holds the rule\'s lease', labelNames: ['rule_id'], registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'lookout_executions_in_flight', help: 'Executions running now', registers: [this.registry] });

  observe(rec: ExecutionRecord): void {
    const rule = rec.ruleId;
    this.executions.inc({ rule_id: rule, status: rec.status });
    this.duration.observe({ rule_id: rule }, (rec.finishedAt - rec.startedAt) / 1000);
    this.events.inc({ rule_id: rule }, rec.eventsRead);
    this.alerts.inc({ rule_id: rule }, rec.alertsWritten);
    this.duplicates.inc({ rule_id: rule }, rec.duplicatesSkipped);
    this.notWritten.inc({ rule_id: rule }, rec.notWritten);
    if (rec.truncated) this.truncations.inc({ rule_id: rule });
    this.unrouted.inc({ rule_id: rule }, Object.values(rec.eventsUnrouted ?? {}).reduce((a, b) => a + b, 0));
    this.missing.set({ rule_id: rule }, rec.missingFields?.length ?? 0);
    if (rec.gap) {
      this.gaps.inc({ rule_id: rule });
      this.gapSeconds.inc({ rule_id: rule }, (rec.gap.end - rec.gap.start) / 1000);
    }
  }
}
