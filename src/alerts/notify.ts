/**
 * Alert notifications beyond the index: webhooks, global (LOOKOUT_WEBHOOK_URL) or per rule, in a
 * generic JSON shape or a Slack-compatible one (`{"text": ...}`, which Slack, Mattermost and
 * Rocket.Chat incoming webhooks accept). Delivery is retried with backoff and jitter; a
 * notification that still fails is logged with the alert ids. The alerts themselves are already
 * in the index by then, so a failed notification never loses an alert.
 */
import type { Logger } from '../logging/logger.js';
import type { Rule } from '../rules/model.js';
import type { AlertDocument } from './build.js';
import { backoff, type RetryPolicy } from './writer.js';

export interface WebhookTarget {
  readonly url: string;
  readonly format: 'generic' | 'slack';
}

export interface Notifier {
  notify(rule: Rule, alerts: readonly AlertDocument[]): Promise<void>;
}

type Fetch = typeof fetch;

function summaryLine(a: AlertDocument): string {
  const d = a.doc as Record<string, any>;
  const s = d.lookout?.summary ?? {};
  const parts = [s.host && `host ${s.host}`, s.source_ip && `from ${s.source_ip}`, s.user && `user ${s.user}`, s.command_line && `\`${String(s.command_line).slice(0, 200)}\``].filter(Boolean);
  return `• [${d['kibana.alert.severity']}/${d['kibana.alert.risk_score']}] ${d['kibana.alert.reason'] ?? ''}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export function payload(target: WebhookTarget, rule: Rule, alerts: readonly AlertDocument[]): unknown {
  if (target.format === 'slack') {
    const lines = alerts.slice(0, 20).map(summaryLine);
    const more = alerts.length > 20 ? `\n…and ${alerts.length - 20} more` : '';
    return { text: `*Lookout: ${alerts.length} new alert(s) from ${rule.name}*\n${lines.join('\n')}${more}` };
  }
  return {
    source: 'lookout',
    rule: { rule_id: rule.ruleId, name: rule.name, severity: rule.severity, type: rule.type },
    count: alerts.length,
    alerts: alerts.map((a) => {
      const d = a.doc as Record<string, any>;
      return {
        id: a.id, severity: d['kibana.alert.severity'], risk_score: d['kibana.alert.risk_score'], reason: d['kibana.alert.reason'],
        original_time: d['kibana.alert.original_time'], summary: d.lookout?.summary, correlation: d.lookout?.correlation,
      };
    }),
  };
}

export class WebhookNotifier implements Notifier {
  constructor(
    private readonly global: readonly WebhookTarget[],
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = { attempts: 5, baseDelayMs: 500 },
    private readonly fetcher: Fetch = fetch,
  ) {}

  async notify(rule: Rule, alerts: readonly AlertDocument[]): Promise<void> {
    const targets = [...this.global, ...rule.webhooks];
    await Promise.all(targets.map((t) => this.deliver(t, rule, alerts)));
  }

  private async deliver(target: WebhookTarget, rule: Rule, alerts: readonly AlertDocument[]): Promise<void> {
    const body = JSON.stringify(payload(target, rule, alerts));
    const host = (() => {
      try {
        return new URL(target.url).host;
      } catch {
        return 'invalid URL';
      }
    })();
    let last = '';
    for (let attempt = 0; attempt < this.retry.attempts; attempt++) {
      try {
        const res = await this.fetcher(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (attempt + 1 < this.retry.attempts) await new Promise((r) => setTimeout(r, backoff(attempt, this.retry)));
    }
    this.logger.error(`webhook to ${host} failed (${last}); the alerts are in the index`, { rule_id: rule.ruleId, alert_ids: alerts.map((a) => a.id) });
  }
}
