/**
 * Alert suppression on the real server (alerts/suppress.ts): an EQL event query with
 * `[rule.alert_suppression]`, run by the scheduler's execution path over events in an index,
 * the open alert of a group found again in the alerts index by later executions and by a new
 * daemon instance.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executeRule } from '../../src/scheduler/execute.js';
import { runCli } from '../helpers/cli.js';
import { alertsIn, esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { beacon, suppressedRule, suppressedRuleFile } from '../helpers/suppression.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-25T12:00:00Z');

describe('alert suppression on the real server', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  const put = async (index: string, events: ReturnType<typeof beacon>[]) => {
    await env.client.bulk({ refresh: true, operations: events.flatMap((e) => [{ create: { _index: index, _id: e.id } }, e.source]) });
  };
  const ofRule = async (ruleId: string) => (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === ruleId);
  const run = (rule: Awaited<ReturnType<typeof suppressedRule>>, start: number, end: number) =>
    executeRule({ ...env.deps, clock: () => end }, rule, { start, end }, 'scheduled');

  test('one execution folds a group; an overlapping one updates it; after the duration a new alert; events read twice count once; missing fields grouped', async () => {
    const index = `${env.prefix}-events-supp`;
    const rule = await suppressedRule({ ruleId: 'supp-duration', indices: [index], suppression: 'group_by = ["host.name"]\nduration = { value = 30, unit = "m" }' });
    await put(index, [beacon('a', T0 - 8 * MIN, 'h1'), beacon('b', T0 - 7 * MIN, 'h1'), beacon('c', T0 - 6 * MIN, 'h1'), beacon('m1', T0 - 5 * MIN, undefined), beacon('m2', T0 - 4 * MIN, undefined)]);

    const r1 = await run(rule, T0 - 10 * MIN, T0);
    assert.equal(r1.record.status, 'succeeded', r1.record.error);
    assert.equal(r1.record.matches, 5);
    assert.equal(r1.record.alertsWritten, 2);
    assert.equal(r1.record.alertsSuppressed, 3);
    let alerts = await ofRule('supp-duration');
    const h1 = () => alerts.filter((a) => a['kibana.alert.suppression.terms'][0].value === 'h1');
    const none = () => alerts.filter((a) => a['kibana.alert.suppression.terms'][0].value === null);
    assert.equal(h1().length, 1);
    assert.equal(h1()[0]['kibana.alert.suppression.docs_count'], 2);
    assert.equal(h1()[0]['kibana.alert.suppression.start'], new Date(T0 - 8 * MIN).toISOString());
    assert.equal(h1()[0]['kibana.alert.suppression.end'], new Date(T0 - 6 * MIN).toISOString());
    assert.deepEqual(h1()[0]['kibana.alert.suppression.terms'], [{ field: 'host.name', value: 'h1' }]);
    assert.equal(none().length, 1, 'events without host.name are one group (null)');
    assert.equal(none()[0]['kibana.alert.suppression.docs_count'], 1);
    const firstId = h1()[0]._id;

    // Overlapping: m1 and m2 are read again; d is new, within 30 minutes of the group's first event.
    await put(index, [beacon('d', T0 + 2 * MIN, 'h1')]);
    const r2 = await run(rule, T0 - 5 * MIN, T0 + 5 * MIN);
    assert.equal(r2.record.status, 'succeeded', r2.record.error);
    assert.equal(r2.record.alertsWritten, 0, 'no new alert: d updates the open one');
    assert.equal(r2.record.alertsSuppressed, 1);
    await env.client.indices.refresh({ index: env.stateIndex });
    const recorded = await env.deps.store.executions('supp-duration');
    assert.ok(recorded.some((e) => e.alerts_suppressed === 1 && e.execution_id === r2.record.executionId), JSON.stringify(recorded));
    assert.equal(r2.record.duplicatesSkipped, 2, 'm1 (its own alert) and m2 (folded into it) were counted by the first execution');
    alerts = await ofRule('supp-duration');
    assert.equal(alerts.length, 2);
    assert.equal(h1()[0]._id, firstId);
    assert.equal(h1()[0]['kibana.alert.suppression.docs_count'], 3);
    assert.equal(h1()[0]['kibana.alert.suppression.end'], new Date(T0 + 2 * MIN).toISOString());
    assert.equal(h1()[0]['kibana.alert.last_detected'], new Date(T0 + 5 * MIN).toISOString());
    assert.equal(none()[0]['kibana.alert.suppression.docs_count'], 1, 'm2 read again is not counted twice');

    // The same window once more: nothing changes.
    const r3 = await run(rule, T0 - 5 * MIN, T0 + 5 * MIN);
    assert.equal(r3.record.alertsWritten, 0);
    alerts = await ofRule('supp-duration');
    assert.equal(h1()[0]['kibana.alert.suppression.docs_count'], 3);

    // e is 29 minutes after the group's first event: folded; f is 48 minutes after: a new alert, which g joins.
    await put(index, [beacon('e', T0 + 21 * MIN, 'h1'), beacon('f', T0 + 40 * MIN, 'h1'), beacon('g', T0 + 41 * MIN, 'h1')]);
    const r4 = await run(rule, T0 + 20 * MIN, T0 + 45 * MIN);
    assert.equal(r4.record.status, 'succeeded', r4.record.error);
    assert.equal(r4.record.alertsWritten, 1);
    alerts = await ofRule('supp-duration');
    assert.deepEqual(h1().map((a) => [a['kibana.alert.suppression.start'], a['kibana.alert.suppression.end'], a['kibana.alert.suppression.docs_count']]), [
      [new Date(T0 - 8 * MIN).toISOString(), new Date(T0 + 21 * MIN).toISOString(), 4],
      [new Date(T0 + 40 * MIN).toISOString(), new Date(T0 + 41 * MIN).toISOString(), 1],
    ]);
  });

  test('doNotSuppress: events missing a group_by field each get their own alert', async () => {
    const index = `${env.prefix}-events-supp-dns`;
    const rule = await suppressedRule({ ruleId: 'supp-dns', indices: [index], suppression: 'group_by = ["host.name"]\nmissing_fields_strategy = "doNotSuppress"\nduration = { value = 1, unit = "h" }' });
    await put(index, [beacon('a', T0 - 8 * MIN, 'h1'), beacon('b', T0 - 7 * MIN, 'h1'), beacon('m1', T0 - 5 * MIN, undefined), beacon('m2', T0 - 4 * MIN, undefined)]);
    const r1 = await run(rule, T0 - 10 * MIN, T0);
    assert.equal(r1.record.alertsWritten, 3);
    const alerts = await ofRule('supp-dns');
    assert.equal(alerts.filter((a) => a['kibana.alert.instance.id'] === undefined).length, 2);
    assert.equal(alerts.find((a) => a['kibana.alert.instance.id'] !== undefined)!['kibana.alert.suppression.docs_count'], 1);
    // Read again: the unsuppressed alerts are duplicates by id.
    const r2 = await run(rule, T0 - 10 * MIN, T0 + MIN);
    assert.equal(r2.record.alertsWritten, 0);
    assert.equal((await ofRule('supp-dns')).length, 3);
  });

  test('a new daemon instance (lookout run --once) finds the open alert and updates it', async () => {
    const index = `${env.prefix}-events-supp-restart`;
    const file = await suppressedRuleFile({ ruleId: 'supp-restart', indices: [index], suppression: 'group_by = ["host.name"]\nduration = { value = 1, unit = "h" }' });
    const cliEnv = { ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: dirname(file), LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex };
    const now = Date.now();
    await put(index, [beacon('a', now - 3 * MIN, 'h9'), beacon('b', now - 2 * MIN, 'h9')]);
    const first = await runCli(['run', '--once'], cliEnv);
    assert.equal(first.code, 0, first.stderr);
    let alerts = await ofRule('supp-restart');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]['kibana.alert.suppression.docs_count'], 1);
    await put(index, [beacon('c', Date.now(), 'h9')]);
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runCli(['run', '--once'], cliEnv);
    assert.equal(second.code, 0, second.stderr);
    alerts = await ofRule('supp-restart');
    assert.equal(alerts.length, 1, 'the second instance updated the alert instead of writing one');
    assert.equal(alerts[0]['kibana.alert.suppression.docs_count'], 2);
  });
});
