/** Metrics from execution records: unrouted events and fields no index has. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/ops/metrics.js';
import type { ExecutionRecord } from '../../src/state/store.js';

const base: ExecutionRecord = {
  executionId: 'e', ruleId: 'r1', ruleName: 'r', kind: 'scheduled', status: 'succeeded', startedAt: 0, finishedAt: 1,
  window: { start: 0, end: 1 }, eventsRead: 5, eventsSkipped: 0, matches: 0, alertsWritten: 0, duplicatesSkipped: 0, truncated: false, notWritten: 0,
};

test('unrouted events add up per rule; missing fields are the last execution\'s count', async () => {
  const m = new Metrics();
  m.observe({ ...base, eventsUnrouted: { '.ds-custom-2026.11.26-000001': 3, other: 1 }, missingFields: ['A', 'B'] });
  m.observe({ ...base, eventsUnrouted: { other: 2 }, missingFields: ['A'] });
  const text = await m.registry.metrics();
  assert.match(text, /lookout_events_unrouted_total\{rule_id="r1"\} 6\n/);
  assert.match(text, /lookout_rule_missing_fields\{rule_id="r1"\} 1\n/);
});
