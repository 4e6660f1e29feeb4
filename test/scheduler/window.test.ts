import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cronFor } from '../../src/scheduler/daemon.js';
import { backfillWindows, scheduledWindow } from '../../src/scheduler/window.js';
import { shippedRule } from '../helpers/rules.js';

const MIN = 60_000;

describe('execution windows', async () => {
  const rule = await shippedRule();
  const now = Date.parse('2026-11-25T12:00:00Z');

  test('first run: now-9m to now', () => {
    assert.deepEqual(scheduledWindow(rule, now, undefined, 60 * MIN), { start: now - 9 * MIN, end: now });
  });

  test('regular run after a success within the look-back: the normal window', () => {
    assert.deepEqual(scheduledWindow(rule, now, now - 5 * MIN, 60 * MIN), { start: now - 9 * MIN, end: now });
  });

  test('after a stop: reach back to the last success less the overlap', () => {
    const last = now - 30 * MIN;
    assert.deepEqual(scheduledWindow(rule, now, last, 60 * MIN), { start: last - 4 * MIN, end: now });
  });

  test('beyond the catch-up bound: a recorded gap, with the overlap a sequence needs on both sides', () => {
    const last = now - 5 * 60 * MIN;
    const w = scheduledWindow(rule, now, last, 60 * MIN);
    assert.equal(w.start, now - 9 * MIN - 60 * MIN);
    assert.deepEqual(w.gap, { start: last - 4 * MIN, end: now - 69 * MIN + 4 * MIN });
  });

  test('backfill windows overlap by the given amount and cover the range', () => {
    const ws = backfillWindows(0, 100, 40, 5);
    assert.deepEqual(ws.map((w) => [w.start, w.end]), [[0, 40], [35, 80], [75, 100]]);
  });

  test('cron expressions for intervals', () => {
    assert.equal(cronFor(5 * MIN), '0 */5 * * * *');
    assert.equal(cronFor(30_000), '*/30 * * * * *');
    assert.equal(cronFor(2 * 60 * MIN), '0 0 */2 * * *');
    assert.equal(cronFor(7 * MIN), undefined);
  });
});
