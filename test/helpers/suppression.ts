/** An EQL event-query rule with `[rule.alert_suppression]`, written as a file and loaded, and events for it. */
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import type { EventRecord } from '../../src/engine/events.js';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { writeRuleFile } from './rule-file.js';

export interface SuppressionOptions {
  readonly ruleId: string;
  readonly indices: readonly string[];
  /** The `[rule.alert_suppression]` table's body (TOML lines). */
  readonly suppression: string;
  readonly from?: string;
  readonly interval?: string;
  /** Default SUPPRESSION_QUERY. */
  readonly query?: string;
}

export const SUPPRESSION_QUERY = 'process where process.name == "beacon.exe"';

export async function suppressedRuleFile(o: SuppressionOptions): Promise<string> {
  const file = await writeRuleFile({ ruleId: o.ruleId, query: o.query ?? SUPPRESSION_QUERY, indices: o.indices, from: o.from ?? 'now-10m', interval: o.interval ?? '5m' });
  await appendFile(file, `\n[rule.alert_suppression]\n${o.suppression}\n`);
  return file;
}

export async function suppressedRule(o: SuppressionOptions): Promise<Rule> {
  const set = await loadRules([await suppressedRuleFile(o)]);
  assert.equal(set.errors.length, 0, set.errors.map((e) => e.message).join('\n'));
  assert.equal(set.rules.length, 1);
  return set.rules[0];
}

/** A matching process event at `ms`; `host` undefined: the event has no host.name. */
export function beacon(id: string, ms: number, host: string | undefined, extra: Record<string, unknown> = {}): EventRecord {
  return {
    index: 'events', id, timestamp: ms,
    source: { '@timestamp': new Date(ms).toISOString(), event: { category: ['process'], type: ['start'] }, process: { name: 'beacon.exe' }, ...(host === undefined ? {} : { host: { name: host } }), ...extra },
  };
}
