/**
 * Ways alerts were lost or records lied (issue 12), each injected for real against the server:
 * an event whose fields do not fit the alerts template, a search answer with failed shards,
 * ticks that cannot start while the cluster is down, gaps too tight to backfill.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Metrics } from '../../src/ops/metrics.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { ruleFromQuery } from '../helpers/rule-file.js';

const T0 = Date.parse('2026-11-12T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('an alert always fits the alerts index', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('an event with an object where the template has a keyword: the alert is written, the field kept as JSON and named', async () => {
    // A dynamically mapped index (no template) accepts process.name as an object.
    const index = `${env.prefix}-dyn-events`;
    await env.client.index({ index, id: 'odd', refresh: true, document: {
      '@timestamp': iso(T0 + 1000), event: { category: ['process'], action: 'fit-test' },
      host: { name: 'h1', ip: 'not-an-ip' }, process: { name: { first: 'cmd.exe' }, pid: 42, parent: 'explorer.exe' },
    } });
    const rule = await ruleFromQuery({ ruleId: `fit-${env.prefix}`, query: 'process where event.action == "fit-test"', indices: [index] });
    const { record } = await executeRule(env.deps, rule, { start: T0, end: T0 + 60_000 }, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    assert.equal(record.alertsWritten, 1);
    const [alert] = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    assert.ok(alert, 'the alert was written');
    assert.equal(alert.process.pid, 42, 'what fits is copied');
    assert.equal(alert.process.name, undefined);
    assert.deepEqual([...alert.lookout.unmapped_fields].sort(), ['host.ip', 'process.name', 'process.parent']);
    assert.deepEqual(JSON.parse(alert.lookout.unmapped_source), { 'host.ip': 'not-an-ip', 'process.name': { first: 'cmd.exe' }, 'process.parent': 'explorer.exe' });
    // The alert is searchable by what was kept.
    await env.client.indices.refresh({ index: env.alertsIndex });
    const found = await env.client.count({ index: env.alertsIndex, query: { term: { 'lookout.unmapped_fields': 'process.name' } } });
    assert.equal(found.count, 1);
  });
});

describe('a search answer with failed shards is not taken as complete', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  for (const readMode of ['pit', 'scroll'] as const) {
    test(`one index maps @timestamp as text (${readMode}): the execution is partial, the failure named in the record, log and metric, the window not advanced`, async () => {
      const good = `${env.prefix}-sf${readMode}-good`;
      const bad = `${env.prefix}-sf${readMode}-bad`;
      await env.client.indices.create({ index: good, mappings: { properties: { '@timestamp': { type: 'date' } } } });
      await env.client.indices.create({ index: bad, mappings: { properties: { '@timestamp': { type: 'text' } } } });
      for (const index of [good, bad]) {
        await env.client.index({ index, refresh: true, document: { '@timestamp': iso(T0 + 1000), event: { category: ['process'], action: 'shard-test' }, host: { name: index } } });
      }
      const rule = await ruleFromQuery({ ruleId: `sf-${readMode}-${env.prefix}`, query: 'process where event.action == "shard-test"', indices: [`${env.prefix}-sf${readMode}-*`] });
      const metrics = new Metrics();
      const deps = { ...env.deps, readMode, onRecord: (r: Parameters<Metrics['observe']>[0]) => metrics.observe(r) };
      const { record } = await executeRule(deps, rule, { start: T0, end: T0 + 60_000 }, 'scheduled');
      assert.equal(record.status, 'partial');
      assert.ok(record.shardFailures && record.shardFailures.length >= 1, 'shard failures in the record');
      assert.match(record.shardFailures![0], new RegExp(bad));
      assert.match(String(record.error), /shard/);
      const logged = env.logs().find((l) => l.rule_id === rule.ruleId && l.level === 'error');
      assert.match(String(logged?.message), /shard/);
      assert.match(await metrics.registry.metrics(), new RegExp(`lookout_shard_failures_total\\{rule_id="${rule.ruleId}"\\} [1-9]`));
      assert.equal((await env.deps.store.ruleState(rule.ruleId)).lastSuccessEnd, undefined, 'the window is not advanced');
    });
  }
});
