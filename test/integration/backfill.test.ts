/**
 * Backfill of several rules: windows in flight at once and reads shared between the rules give
 * the same alerts as one rule at a time, one window at a time; a rule whose alerts cannot be
 * written stops alone, and resumes where it stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AlertDocument } from '../../src/alerts/build.js';
import { ElasticAlertSink, type AlertSink } from '../../src/alerts/writer.js';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents } from '../../src/demo/load.js';
import { compileEql } from '../../src/eql/compile.js';
import type { Rule } from '../../src/rules/model.js';
import { backfillRule, backfillRules } from '../../src/scheduler/backfill.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';

const FROM = Date.UTC(2026, 8, 1);
const TO = FROM + 6 * 3_600_000;
const STEP = 3_600_000;

describe('backfill of several rules', () => {
  let env: TestEnv;
  let rules: Rule[];
  before(async () => {
    env = await testEnv({ pageSize: 300 });
    await indexEvents(env.client, generateDataset({ seed: 71, start: FROM, end: TO, noiseEvents: 3000, attacks: 24, hosts: 30, indices: {
      defendNetwork: `${env.prefix}-events-n`, defendProcess: `${env.prefix}-events-p`, winlogbeat: `${env.prefix}-events-w`,
    } }).events);
    const base = await shippedRule({ indices: [`${env.prefix}-events-*`] });
    const children = 'process where process.parent.name : "winrshost.exe"';
    rules = [base, { ...base, ruleId: 'bf-children', name: 'winrshost children', query: children, compiled: compileEql(children) }];
  });
  after(async () => env?.close());

  const ids = (alerts: Record<string, any>[]) => alerts.map((a) => `${a['kibana.alert.rule.rule_id']}:${a._id}`).sort();

  test('two windows in flight and a shared read give the alerts of one rule at a time, one window at a time', async () => {
    const oneByOne = `${env.prefix}-alerts-serial`;
    for (const rule of rules) {
      const r = await backfillRule({ ...env.deps, sink: new ElasticAlertSink(env.client, oneByOne) }, { ...rule, ruleId: rule.ruleId }, { from: FROM, to: TO + 1, stepMs: STEP });
      assert.equal(r.failed, false, r.error);
    }
    const progress: number[] = [];
    const results = await backfillRules(env.deps, rules, { from: FROM, to: TO, stepMs: STEP, concurrency: 2, onProgress: (d) => progress.push(d) });
    assert.deepEqual(results.map((r) => [r.ruleId, r.failed, r.windows]), [[rules[0].ruleId, false, 6], ['bf-children', false, 6]]);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6], 'progress in window order');
    const serial = ids(await alertsIn(env.client, oneByOne));
    assert.deepEqual(ids(await alertsIn(env.client, env.alertsIndex)), serial);
    assert.equal(serial.filter((s) => s.startsWith(`${rules[0].ruleId}:`)).length, 24);
    const again = await backfillRules(env.deps, rules, { from: FROM, to: TO, stepMs: STEP, concurrency: 2 });
    assert.deepEqual(again.map((r) => r.windows), [0, 0], 'both resume after the last window');
  });

  test('a rule whose alerts cannot be written stops alone and resumes where it stopped', async () => {
    const index = `${env.prefix}-alerts-refusing`;
    const inner = new ElasticAlertSink(env.client, index);
    let refuse = true;
    // Refuses the alerts of bf-children from the third hour on; the other rule's are written.
    const refusing: AlertSink = {
      existing: (list) => inner.existing(list),
      async write(alerts: readonly AlertDocument[]) {
        const bad = refuse ? alerts.filter((a) => a.doc['kibana.alert.rule.rule_id'] === 'bf-children' && Date.parse(String(a.doc['kibana.alert.original_time'])) >= FROM + 2 * STEP) : [];
        const r = await inner.write(alerts.filter((a) => !bad.includes(a)));
        return { ...r, failed: [...r.failed, ...bad.map((a) => ({ id: a.id, reason: '403 refused by the test' }))] };
      },
    };
    const deps = { ...env.deps, sink: refusing };
    const first = await backfillRules(deps, rules, { from: FROM, to: TO + 2, stepMs: STEP, concurrency: 2 });
    assert.equal(first[0].failed, false, first[0].error);
    assert.equal(first[0].windows, 7, 'six hours and the last 2 ms');
    assert.equal(first[1].failed, true);
    assert.equal(first[1].windows, 2, 'the two hours before the refusals count as done');
    assert.match(String(first[1].error), /not written to .*403 refused by the test/);
    refuse = false;
    const second = await backfillRules(deps, rules, { from: FROM, to: TO + 2, stepMs: STEP, concurrency: 2 });
    assert.equal(second[1].failed, false, second[1].error);
    assert.equal(second[1].resumedFrom, FROM + 2 * STEP);
    assert.equal(second[0].windows, 0, 'the other rule had finished');
    assert.deepEqual(ids(await alertsIn(env.client, index)), ids(await alertsIn(env.client, env.alertsIndex)));
  });
});
