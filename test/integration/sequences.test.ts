/**
 * EQL sequences and samples on the real server, through the whole path (rule file, pushdown,
 * paged reading, evaluation, alerts): per-stage keys, maxspan, runs, until, missing events,
 * sample, pipes, timestamp_override with its fallback, and a sequence that straddles two
 * scheduled windows (found once).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { scheduledWindow } from '../../src/scheduler/window.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { SHIPPED_RULE_FILE, shippedRule } from '../helpers/rules.js';

const T0 = Date.parse('2026-11-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('sequences on the real server', () => {
  let env: TestEnv;
  let dir: string;
  let n = 0;
  before(async () => {
    env = await testEnv({ pageSize: 3 });
    dir = await mkdtemp(join(tmpdir(), 'lookout-seq-'));
  });
  after(async () => env?.close());

  /** A rule file with this query over this test's indices, loaded the way Lookout loads rules. */
  async function ruleFor(query: string, extra = ''): Promise<Rule> {
    const text = (await readFile(SHIPPED_RULE_FILE, 'utf8'))
      .replace(/^rule_id = .*$/m, `rule_id = "seq-${++n}"`)
      .replace(/^query = '''[\s\S]*?'''$/m, `query = '''\n${query}\n'''\n${extra}`)
      .replace(/^index = \[[\s\S]*?\]$/m, `index = ["${env.prefix}-events-s${n}"]`);
    const file = join(dir, `rule-${n}.toml`);
    await writeFile(file, text);
    const set = await loadRules([file]);
    assert.equal(set.errors.length, 0, set.errors.map((e) => e.message).join('\n'));
    return set.rules[0];
  }

  async function run(rule: Rule, docs: Record<string, unknown>[], window = { start: T0 - 60_000, end: T0 + 3_600_000 }): Promise<string[][]> {
    await env.client.bulk({ refresh: true, operations: docs.flatMap((d, i) => [{ index: { _index: rule.indices[0], _id: String(d.id ?? i) } }, d]) });
    const { record } = await executeRule(env.deps, rule, window, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    return alerts.map((a) => a['kibana.alert.ancestors'].map((x: { id: string }) => x.id)).sort();
  }

  const ev = (id: string, sec: number, category: string, fields: Record<string, unknown> = {}) =>
    ({ id, '@timestamp': iso(T0 + sec * 1000), event: { category: [category] }, ...fields });

  test('per-stage by keys join different fields', async () => {
    const rule = await ruleFor('sequence [process where true] by process.entity_id [network where true] by process.parent.entity_id');
    const got = await run(rule, [
      ev('p1', 1, 'process', { process: { entity_id: 'A' } }),
      ev('n1', 2, 'network', { process: { parent: { entity_id: 'A' } } }),
      ev('n2', 3, 'network', { process: { parent: { entity_id: 'B' } } }),
    ]);
    assert.deepEqual(got, [['p1', 'n1']]);
  });

  test('maxspan is inclusive; runs repeats a stage', async () => {
    const rule = await ruleFor('sequence by host.id with maxspan=10s [authentication where event.outcome == "failure"] with runs=3 [authentication where event.outcome == "success"]');
    const fail = (id: string, s: number, h: string) => ev(id, s, 'authentication', { host: { id: h }, event: { category: ['authentication'], outcome: 'failure' } });
    const ok = (id: string, s: number, h: string) => ev(id, s, 'authentication', { host: { id: h }, event: { category: ['authentication'], outcome: 'success' } });
    const got = await run(rule, [
      fail('a1', 0, 'h1'), fail('a2', 3, 'h1'), fail('a3', 6, 'h1'), ok('a4', 10, 'h1'),
      fail('b1', 0, 'h2'), fail('b2', 3, 'h2'), fail('b3', 6, 'h2'), ok('b4', 11, 'h2'),
      fail('c1', 0, 'h3'), fail('c2', 3, 'h3'), ok('c3', 6, 'h3'),
    ]);
    assert.deepEqual(got, [['a1', 'a2', 'a3', 'a4']]);
  });

  test('until drops pending sequences of its key', async () => {
    const rule = await ruleFor('sequence by host.id [process where event.type == "start"] [network where true] until [process where event.type == "end"]');
    const got = await run(rule, [
      ev('s1', 1, 'process', { host: { id: 'h1' }, event: { category: ['process'], type: ['start'] } }),
      ev('e1', 2, 'process', { host: { id: 'h1' }, event: { category: ['process'], type: ['end'] } }),
      ev('n1', 3, 'network', { host: { id: 'h1' } }),
      ev('s2', 1, 'process', { host: { id: 'h2' }, event: { category: ['process'], type: ['start'] } }),
      ev('n2', 3, 'network', { host: { id: 'h2' } }),
    ]);
    assert.deepEqual(got, [['s2', 'n2']]);
  });

  test('missing events: middle and trailing', async () => {
    const rule = await ruleFor('sequence by host.id with maxspan=1m [process where process.name == "a"] ![process where process.name == "m"] [process where process.name == "b"]');
    const p = (id: string, s: number, h: string, name: string) => ev(id, s, 'process', { host: { id: h }, process: { name } });
    assert.deepEqual(await run(rule, [p('1', 1, 'h1', 'a'), p('2', 2, 'h1', 'm'), p('3', 3, 'h1', 'b'), p('4', 1, 'h2', 'a'), p('5', 3, 'h2', 'b')]), [['4', '5']]);
    const trailing = await ruleFor('sequence by host.id with maxspan=1m [process where process.name == "a"] [process where process.name == "b"] ![process where process.name == "m"]');
    assert.deepEqual(await run(trailing, [p('t1', 1, 'h1', 'a'), p('t2', 2, 'h1', 'b'), p('t3', 30, 'h1', 'm'), p('t4', 1, 'h2', 'a'), p('t5', 2, 'h2', 'b'), p('t6', 90, 'h2', 'm')]), [['t4', 't5']]);
  });

  test('sample: one event per filter per key, in any time order', async () => {
    const rule = await ruleFor('sample by host.id [process where process.name == "a"] [network where destination.port == 443]');
    const got = await run(rule, [
      ev('n1', 1, 'network', { host: { id: 'h1' }, destination: { port: 443 } }),
      ev('p1', 5, 'process', { host: { id: 'h1' }, process: { name: 'a' } }),
      ev('p2', 1, 'process', { host: { id: 'h2' }, process: { name: 'a' } }),
    ]);
    assert.deepEqual(got, [['p1', 'n1']]);
  });

  test('optional join keys: events without the key join under null, and the pushdown keeps them', async () => {
    const rule = await ruleFor('sequence by ?host.id [process where process.name == "a"] [network where true]');
    const got = await run(rule, [
      ev('o1', 1, 'process', { process: { name: 'a' } }), ev('o2', 2, 'network', { host: { id: null } }),
      ev('o3', 3, 'process', { host: { id: 'h1' }, process: { name: 'a' } }), ev('o4', 4, 'network', {}), ev('o5', 5, 'network', { host: { id: 'h1' } }),
    ]);
    assert.deepEqual(got, [['o1', 'o2'], ['o3', 'o5']]);
    const sample = await ruleFor('sample by host.id, ?user.name [process where true] [network where true]');
    const got2 = await run(sample, [
      ev('s1', 1, 'network', { host: { id: 'h1' } }), ev('s2', 2, 'process', { host: { id: 'h1' }, user: { name: 'u' } }),
      ev('s3', 3, 'process', { host: { id: 'h1' } }), ev('s4', 4, 'network', { user: { name: 'u' } }),
    ]);
    assert.deepEqual(got2, [['s3', 's1']]);
  });

  test('until does not cancel what its own event completes; leading and trailing missing events judged together', async () => {
    const rule = await ruleFor('sequence by host.id [process where true] [network where true] until [any where event.action == "stop"]');
    const got = await run(rule, [
      ev('u1', 1, 'process', { host: { id: 'h1' } }), ev('u2', 2, 'network', { host: { id: 'h1' }, event: { category: ['network'], action: 'stop' } }),
      ev('u3', 1, 'process', { host: { id: 'h2' } }), ev('u4', 2, 'file', { host: { id: 'h2' }, event: { category: ['file'], action: 'stop' } }), ev('u5', 3, 'network', { host: { id: 'h2' } }),
    ]);
    assert.deepEqual(got, [['u1', 'u2']]);
    const both = await ruleFor('sequence by host.id with maxspan=19m ![process where process.name == "m"] [process where process.name == "n"] ![process where process.name == "m"]');
    const p = (id: string, min: number, name: string) => ev(id, min * 60, 'process', { host: { id: 'h' }, process: { name } });
    // The test3 data of Elasticsearch's test_missing_events.toml: every n is kept at 19m.
    assert.deepEqual(await run(both, [p('m1', 0, 'm'), p('n2', 10, 'n'), p('m3', 20, 'm'), p('n4', 21, 'n'), p('n5', 29, 'n'), p('n6', 31, 'n')]), [['n2'], ['n4'], ['n5'], ['n6']]);
  });

  test('date_nanos: events within one millisecond in nanosecond order, fractional epoch-millis strings read', async () => {
    const rule = await ruleFor('sequence by host.id [process where true] [network where true]');
    await env.client.indices.create({ index: rule.indices[0], mappings: { properties: { '@timestamp': { type: 'date_nanos' }, host: { properties: { id: { type: 'keyword' } } } } } });
    const base = T0 + 5000;
    const got = await run(rule, [
      // Ids and arrival would put the network event first; its nanoseconds put it after the process event.
      { id: 'a-net', '@timestamp': `${iso(base).slice(0, 23)}000900Z`, event: { category: ['network'] }, host: { id: 'h' } },
      { id: 'b-proc', '@timestamp': `${base}.000100`, event: { category: ['process'] }, host: { id: 'h' } },
    ]);
    assert.deepEqual(got, [['b-proc', 'a-net']]);
  });

  test('typed comparisons from _field_caps: a date field with a date string, an ip field as addresses, ip keys normalised', async () => {
    // (The development server has no x-pack `version` type; version order is table-tested in test/eql/types.test.ts.)
    const rule = await ruleFor('process where @timestamp == "2026-11-10T00:00:01Z" and source.ip == "10.0.0.1"');
    await env.client.indices.create({ index: rule.indices[0], mappings: { properties: { '@timestamp': { type: 'date' }, source: { properties: { ip: { type: 'ip' } } } } } });
    const got = await run(rule, [
      { id: 'hit', '@timestamp': '2026-11-10T01:00:01+01:00', event: { category: ['process'] }, source: { ip: '::ffff:10.0.0.1' } },
      { id: 'other', '@timestamp': '2026-11-10T00:00:01.000Z', event: { category: ['process'] }, source: { ip: '10.0.0.2' } },
    ]);
    assert.deepEqual(got, [['hit']]);
    const seq = await ruleFor('sequence by source.ip [process where true] [network where true]');
    await env.client.indices.create({ index: seq.indices[0], mappings: { properties: { source: { properties: { ip: { type: 'ip' } } } } } });
    assert.deepEqual(await run(seq, [ev('i1', 1, 'process', { source: { ip: '::ffff:10.0.0.1' } }), ev('i2', 2, 'network', { source: { ip: '10.0.0.1' } })]), [['i1', 'i2']]);
  });

  test('pipes: head 1 keeps the first sequence', async () => {
    const rule = await ruleFor('sequence by host.id [process where true] [network where true] | head 1');
    const got = await run(rule, [
      ev('x1', 1, 'process', { host: { id: 'h1' } }), ev('x2', 2, 'network', { host: { id: 'h1' } }),
      ev('y1', 3, 'process', { host: { id: 'h2' } }), ev('y2', 4, 'network', { host: { id: 'h2' } }),
    ]);
    assert.deepEqual(got, [['x1', 'x2']]);
  });

  test('Kibana filters apply in the search and in memory', async () => {
    const filters = '[[rule.filters]]\n[rule.filters.meta]\nnegate = true\n[rule.filters.query.match_phrase]\n"host.name" = "excluded"\n';
    const rule = await ruleFor('process where process.name == "x"', filters);
    assert.ok(rule.filters.query);
    const got = await run(rule, [
      ev('kept', 1, 'process', { host: { name: 'kept' }, process: { name: 'x' } }),
      ev('dropped', 2, 'process', { host: { name: 'excluded' }, process: { name: 'x' } }),
    ]);
    assert.deepEqual(got, [['kept']]);
  });

  test('timestamp_override = event.ingested orders and windows events, falling back to @timestamp', async () => {
    const rule = await ruleFor('sequence by host.id with maxspan=1m [process where true] [network where true]', 'timestamp_override = "event.ingested"');
    assert.equal(rule.timestampField, 'event.ingested');
    // A late event: happened long ago (@timestamp), ingested now; it is found by its ingest time.
    const late = { id: 'late', '@timestamp': iso(T0 - 86_400_000), event: { category: ['process'], ingested: iso(T0 + 10_000) }, host: { id: 'h1' } };
    // No event.ingested: windowed and ordered by @timestamp instead.
    const plain = { id: 'plain', '@timestamp': iso(T0 + 20_000), event: { category: ['network'] }, host: { id: 'h1' } };
    const got = await run(rule, [late, plain], { start: T0, end: T0 + 60_000 });
    assert.deepEqual(got, [['late', 'plain']]);
  });
});

describe('a sequence across two scheduled windows', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env?.close());

  test('is found once: not in the run before it completes, once in the next, never again', async () => {
    const rule = await shippedRule({ indices: [`${env.prefix}-events-w`] });
    const runAt = T0; // executions at T0, T0+5m, T0+10m: windows [t-9m, t]
    const host = { id: 'straddle', os: { type: 'windows' } };
    const netTs = runAt - 10_000; // in the first window
    const procTs = runAt + 15_000; // after the first window ends, in the second
    await env.client.bulk({ refresh: true, operations: [
      { index: { _index: rule.indices[0], _id: 'net' } },
      { '@timestamp': iso(netTs), event: { category: ['network'] }, host, process: { pid: 4 }, network: { direction: 'incoming' }, destination: { port: 5985 }, source: { ip: '10.2.2.2' } },
      { index: { _index: rule.indices[0], _id: 'proc' } },
      { '@timestamp': iso(procTs), event: { category: ['process'], type: ['start'] }, host, process: { name: 'cmd.exe', executable: 'C:\\Windows\\System32\\cmd.exe', parent: { name: 'winrshost.exe' } } },
    ] });
    const counts: number[] = [];
    let last: number | undefined;
    for (const t of [runAt, runAt + 5 * 60_000, runAt + 10 * 60_000]) {
      const { record } = await executeRule(env.deps, rule, scheduledWindow(rule, t, last, 3_600_000), 'scheduled');
      counts.push(record.alertsWritten);
      last = t;
    }
    assert.deepEqual(counts, [0, 1, 0]);
    assert.equal((await alertsIn(env.client, env.alertsIndex)).length, 1);
  });
});
