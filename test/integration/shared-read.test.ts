/**
 * Rules over the same indices and window share one read: the same alerts as separate
 * executions, each rule its own record, and one pass over the events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElasticAlertSink } from '../../src/alerts/writer.js';
import { generateDataset } from '../../src/demo/generate.js';
import { indexEvents } from '../../src/demo/load.js';
import { compileEql } from '../../src/eql/compile.js';
import { executeRule, executeRules, pushedQuery } from '../../src/scheduler/execute.js';
import { fieldTypesFromCaps } from '../../src/eql/mapping-types.js';
import { withFieldTypes } from '../../src/rules/typed.js';
import { fetchFieldTypes } from '../../src/search/field-caps.js';
import { unionOf, widen } from '../../src/search/union.js';
import { corpusRules } from '../../bench/corpus.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';

const START = Date.UTC(2026, 7, 1);

describe('a shared read for rules over the same indices', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
    await indexEvents(env.client, generateDataset({ seed: 61, start: START, end: START + 3_600_000, noiseEvents: 1500, attacks: 18, hosts: 30, indices: {
      defendNetwork: `${env.prefix}-events-n`, defendProcess: `${env.prefix}-events-p`, winlogbeat: `${env.prefix}-events-w`,
    } }).events);
  });
  after(async () => env?.close());

  test('three rules, one read, the same alerts as three separate executions', async () => {
    const indices = [`${env.prefix}-events-*`];
    const base = await shippedRule({ indices });
    const cmdOnly = base.query.replace('process.parent.name : "winrshost.exe"', 'process.parent.name : "winrshost.exe" and process.name : ("cmd.exe", "powershell.exe")');
    const rules = [
      base,
      { ...base, ruleId: 'shared-cmd', name: 'remote shell running a shell', query: cmdOnly, compiled: compileEql(cmdOnly) },
      { ...base, ruleId: 'shared-procs', name: 'winrshost children', query: 'process where process.parent.name : "winrshost.exe"', compiled: compileEql('process where process.parent.name : "winrshost.exe"') },
    ];
    const window = { start: START - 1000, end: START + 3_600_000 };
    const paths: string[] = [];
    const onRequest = (_err: unknown, event: { meta: { request: { params: { path: string } } } } | null) => {
      if (event) paths.push(event.meta.request.params.path);
    };
    env.client.diagnostic.on('request', onRequest as never);
    const shared = await executeRules(env.deps, rules, window, 'once');
    env.client.diagnostic.off('request', onRequest as never);
    assert.equal(new Set(shared.map((r) => r.read)).size, 1, 'one read');
    // The alerts of the three rules: one existence check and one bulk write, not one per rule.
    assert.equal(paths.filter((p) => p === `/${env.alertsIndex}/_mget`).length, 1, paths.join(' '));
    // Two bulk requests: the alerts of the three rules, then the three execution records.
    assert.equal(paths.filter((p) => p.endsWith('/_bulk')).length, 2, paths.join(' '));
    // Routing: the event rule takes process events only; the sequence takes network ones too.
    const seen = shared.map((r) => r.counts!.eventsRead);
    assert.ok(seen[2] > 0 && seen[2] < seen[0], `events fed: ${seen}`);
    assert.ok(seen[0] <= shared[0].record.eventsRead);
    assert.ok(shared.every((r) => r.record.status === 'succeeded'));
    const separateIndex = `${env.prefix}-alerts-separate`;
    for (const rule of rules) await executeRule({ ...env.deps, sink: new ElasticAlertSink(env.client, separateIndex) }, rule, window, 'once');
    const byRule = (alerts: Record<string, any>[]) => {
      const m: Record<string, string[]> = {};
      for (const a of alerts) (m[a['kibana.alert.rule.rule_id']] ??= []).push(a._id);
      for (const k of Object.keys(m)) m[k].sort();
      return m;
    };
    const together = byRule(await alertsIn(env.client, env.alertsIndex));
    assert.deepEqual(together, byRule(await alertsIn(env.client, separateIndex)));
    assert.equal(together[base.ruleId].length, 18);
    assert.ok(together['shared-cmd'].length > 0 && together['shared-cmd'].length < 18);
    assert.ok(together['shared-procs'].length > 18, 'the event rule alerts on each child, conhost included');
    assert.deepEqual(shared.map((r) => r.record.alertsWritten), rules.map((r) => together[r.ruleId].length));
  });

  test('rules whose union would pass the clause limit are packed into a few reads, with the same alerts', async () => {
    const indices = [`${env.prefix}-events-*`];
    const base = await shippedRule({ indices });
    // Each rule: 400 wildcard alternatives (400 clauses); three of them do not fit one union.
    const wide = (tag: string, hit: string) => {
      const patterns = Array.from({ length: 399 }, (_, i) => `"${tag}${i}*"`).concat(`"${hit}"`).join(', ');
      const query = `process where process.parent.name : "winrshost.exe" and process.name : (${patterns})`;
      return { ...base, ruleId: `wide-${tag}`, name: `wide ${tag}`, query, compiled: compileEql(query) };
    };
    const rules = [wide('a', 'cmd*'), wide('b', 'whoami*'), wide('c', 'net*')];
    const window = { start: START - 1000, end: START + 3_600_000 };
    const shared = await executeRules(env.deps, rules, window, 'once');
    assert.ok(shared.every((r) => r.record.status === 'succeeded'), shared.map((r) => r.record.error).join('; '));
    assert.equal(new Set(shared.map((r) => r.read)).size, 2, 'two reads, not three and not one unfiltered');
    const separateIndex = `${env.prefix}-alerts-wide-separate`;
    for (const rule of rules) await executeRule({ ...env.deps, sink: new ElasticAlertSink(env.client, separateIndex) }, rule, window, 'once');
    const ids = async (index: string) => (await alertsIn(env.client, index)).filter((a) => String(a['kibana.alert.rule.rule_id']).startsWith('wide-')).map((a) => a._id).sort();
    const together = await ids(env.alertsIndex);
    assert.ok(together.length >= 3);
    assert.deepEqual(together, await ids(separateIndex));
  });

  test('figure 4b\'s fifty rules (the WinRM rule, 49 prebuilt Windows EQL rules from ../shared/corpus) read their union with its costly clauses decided on the window\'s values: every event each rule\'s own query selects is in the cheaper superset, and the alerts are those of separate executions', async () => {
    const indices = [`${env.prefix}-events-*`];
    const base = await shippedRule({ indices });
    const corpus = new URL('../../../shared/corpus/elastic-detection-rules', import.meta.url).pathname;
    const others = (await corpusRules(corpus, 49, { windowsOnly: true }))
      .map((r) => ({ ...r, indices, timestampField: base.timestampField, timestampFallback: base.timestampFallback, maxSignals: 10_000 }));
    const rules = [base, ...others];
    assert.equal(rules.length, 50);
    const window = { start: START - 1000, end: START + 3_600_000 };
    const types = await fetchFieldTypes(env.client, indices, [...new Set(rules.flatMap((r) => [...r.compiled.fields]))]);
    const queries = rules.map((r) => pushedQuery(withFieldTypes(r, fieldTypesFromCaps(types), types), types));
    const union = unionOf(queries);
    const cheaper = widen(union);
    assert.notDeepEqual(cheaper, union, 'the union has costly clauses to leave out');
    // On the real server: each rule's query (a superset of what its evaluator accepts, by the
    // pushdown property test) selects nothing the cheaper union does not.
    const range = { range: { '@timestamp': { gte: window.start, lte: window.end, format: 'epoch_millis' } } };
    const idsOf = async (q: unknown) => new Set((await env.client.search({ index: indices.join(','), size: 10_000, _source: false, query: { bool: { filter: [range, ...(q ? [q] : [])] } } as never })).hits.hits.map((h) => h._id));
    const read = await idsOf(cheaper);
    let selecting = 0;
    for (const [i, q] of queries.entries()) {
      const ids = await idsOf(q);
      if (ids.size > 0) selecting++;
      for (const id of ids) assert.ok(read.has(id), `${rules[i].name}: its query selects ${id}, the cheaper union does not`);
    }
    // Most of the 49 rules test fields these events lack (process.args, pe.original_file_name...): their
    // queries select nothing (eql/pushdown.ts); the WinRM rule's selects its events.
    assert.ok(selecting >= 1, `some rule selects events here (${selecting})`);
    const selected = await idsOf(union);
    const shared = await executeRules(env.deps, rules, window, 'once');
    assert.ok(shared.every((r) => r.record.status === 'succeeded'), shared.map((r) => r.record.error).join('; '));
    assert.equal(new Set(shared.map((r) => r.read)).size, 1, 'one read');
    // Counted first, with the window's values of the fields its costly clauses test, then read in
    // one page (the page size here is 500): the union's costly clauses never ran, decided on those values.
    assert.equal(shared[0].read?.narrowed, true, 'the read decided the costly clauses on the window\'s values');
    assert.equal(shared[0].read?.widened, undefined);
    assert.ok(read.size > 500, `more than a page of 500 in the window (${read.size})`);
    assert.equal(shared[0].read?.pages, 1, 'one page');
    assert.equal(shared[0].read?.hits, selected.size, 'what the union selects, not the cheaper superset\'s extra documents');
    assert.ok(selected.size < read.size, `the cheaper superset holds more (${read.size}) than the union (${selected.size})`);
    const separateIndex = `${env.prefix}-alerts-4b-separate`;
    for (const rule of rules) await executeRule({ ...env.deps, sink: new ElasticAlertSink(env.client, separateIndex) }, rule, window, 'once');
    const ours = new Set(rules.map((r) => r.ruleId));
    const ids = async (index: string) => (await alertsIn(env.client, index)).filter((a) => ours.has(String(a['kibana.alert.rule.rule_id']))).map((a) => `${a['kibana.alert.rule.rule_id']}/${a._id}`).sort();
    const together = await ids(env.alertsIndex);
    assert.ok(together.length >= 18, `the WinRM rule's 18 at least (${together.length})`);
    assert.deepEqual(together, await ids(separateIndex));
  });
});
