/** Kibana date math as rules write it (`history_window_start = "now-7d"`), resolved against a given now (the server grammar, parseDateMath, is tested with KQL ranges in test/kql/evaluate.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDateMath } from '../../src/config/date-math.js';

const NOW = Date.parse('2026-11-26T21:47:13.250Z');

const cases: [string, string | undefined][] = [
  ['now', '2026-11-26T21:47:13.250Z'],
  ['now-7d', '2026-11-19T21:47:13.250Z'],
  ['now-14d', '2026-11-12T21:47:13.250Z'],
  [' now - 30m ', '2026-11-26T21:17:13.250Z'],
  ['now-1d/d', '2026-11-25T00:00:00.000Z'],
  ['now/w', '2026-11-23T00:00:00.000Z'],
  ['now-1M', '2026-10-26T21:47:13.250Z'],
  ['now-1y/M', '2025-11-01T00:00:00.000Z'],
  ['now-2h+15m', '2026-11-26T20:02:13.250Z'],
  ['now-500ms', '2026-11-26T21:47:12.750Z'],
  ['now-1H/H', '2026-11-26T20:00:00.000Z'],
  ['2026-11-01T00:00:00Z', '2026-11-01T00:00:00.000Z'],
  ['2026-11-01T00:00:00Z||-1d', '2026-10-31T00:00:00.000Z'],
  ['now-7x', undefined],
  ['7d', undefined],
  ['now-', undefined],
  ['yesterday', undefined],
];

for (const [text, expected] of cases) {
  test(`${JSON.stringify(text)} -> ${expected ?? 'not date math'}`, () => {
    const got = resolveDateMath(text, NOW);
    assert.equal(got === undefined ? undefined : new Date(got).toISOString(), expected);
  });
}
