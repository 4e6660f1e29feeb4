/**
 * Exceptions on the real server (7.17): for every entry type and operator the search's must_not
 * keeps exactly the events the in-memory check keeps (where the clause is sent; where it is not,
 * the search reads everything and memory decides), and end to end an excepted event raises no
 * alert for an EQL event rule from a Kibana export, an EQL sequence and a Sigma rule (both with
 * a Lookout exceptions file), while the same rule without its exceptions does alert on it.
 * `serverClauses` (every item as Kibana writes it) is accepted by the server and agrees too.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileExceptions, type ExceptionItem } from '../../src/exceptions/index.js';
import type { Entry } from '../../src/exceptions/model.js';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { fetchFieldTypes } from '../../src/search/field-caps.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { writeRuleFile } from '../helpers/rule-file.js';
import { WHOAMI_SIGMA, WHOAMI_SIGMA_ID } from '../helpers/sigma.js';

const T0 = Date.parse('2026-11-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = Date.now();

const DOCS: Record<string, unknown>[] = [
  { host: { name: 'ws1', os: { type: 'windows' } }, process: { pid: 4, name: 'cmd.exe', args: ['cmd.exe', '/c', 'whoami'] }, source: { ip: '10.1.2.3' }, message: 'Alice logged on' },
  { host: { name: 'WS1', os: { type: 'linux' } }, process: { pid: 8, name: 'bash' }, source: { ip: '192.168.7.1' }, user: { name: 'root' } },
  { host: { name: 'lab-7' }, process: { pid: 15, name: 'cmd.exe' }, user: { name: 'svc-backup' }, source: { ip: '10.1.2.200' } },
  { host: { name: 'ws2', os: { name: { caseless: 'windows' } } }, process: { name: 'CMD.EXE', args: [] }, user: { name: 'svc-backup' } },
  { host: { name: 'ws3' }, file: { Ext: { code_signature: [{ subject_name: 'Microsoft', trusted: false }, { subject_name: 'Evil Corp', trusted: true }] } } },
  { host: { name: 'ws4' }, file: { Ext: { code_signature: [{ subject_name: 'Evil Corp', trusted: false }] } }, process: { pid: 4 } },
  { host: { name: ['ws5', 'jump-01'] }, message: 'bob logged off' },
  {},
];

const m = (field: string, value: string, operator: 'included' | 'excluded' = 'included'): Entry => ({ field, operator, type: 'match', value });
const VALUES = new Map<string, readonly string[]>([
  ['hosts', ['jump-01', 'ws2']], ['nets', ['192.168.0.0/16', '10.1.2.3']], ['ranges', ['10.1.2.0-10.1.2.99', '192.168.7.0/24']], ['pids', ['4', '15']],
  ['phrases', ['alice logged']],
]);

/** [name, entries, os_types, sent to the search]. */
const CASES: [string, Entry[], string[], boolean][] = [
  ['match', [m('host.name', 'ws1')], [], true],
  ['match excluded', [m('host.name', 'ws1', 'excluded')], [], true],
  ['match on a long', [m('process.pid', '4')], [], true],
  ['match on an array', [m('process.args', 'whoami')], [], true],
  ['match_any', [{ field: 'process.name', operator: 'included', type: 'match_any', value: ['bash', 'cmd.exe'] }], [], true],
  ['match_any excluded', [{ field: 'process.name', operator: 'excluded', type: 'match_any', value: ['bash', 'cmd.exe'] }], [], true],
  ['wildcard', [{ field: 'host.name', operator: 'included', type: 'wildcard', value: 'w?*' }], [], true],
  ['wildcard is case-sensitive', [{ field: 'process.name', operator: 'included', type: 'wildcard', value: 'cmd*' }], [], true],
  ['wildcard excluded', [{ field: 'host.name', operator: 'excluded', type: 'wildcard', value: 'lab-*' }], [], true],
  ['exists', [{ field: 'user.name', operator: 'included', type: 'exists' }], [], true],
  ['exists excluded', [{ field: 'user.name', operator: 'excluded', type: 'exists' }], [], true],
  ['exists on an empty array', [{ field: 'process.args', operator: 'included', type: 'exists' }], [], true],
  ['keyword list', [{ field: 'host.name', operator: 'included', type: 'list', list: { id: 'hosts', type: 'keyword' } }], [], true],
  ['keyword list excluded', [{ field: 'host.name', operator: 'excluded', type: 'list', list: { id: 'hosts', type: 'keyword' } }], [], true],
  ['ip list with CIDR', [{ field: 'source.ip', operator: 'included', type: 'list', list: { id: 'nets', type: 'ip' } }], [], true],
  ['ip_range list', [{ field: 'source.ip', operator: 'included', type: 'list', list: { id: 'ranges', type: 'ip_range' } }], [], true],
  ['ip_range list excluded', [{ field: 'source.ip', operator: 'excluded', type: 'list', list: { id: 'ranges', type: 'ip_range' } }], [], true],
  ['long list', [{ field: 'process.pid', operator: 'included', type: 'list', list: { id: 'pids', type: 'long' } }], [], true],
  ['nested, one object', [{ field: 'file.Ext.code_signature', type: 'nested', entries: [
    { field: 'subject_name', operator: 'included', type: 'match', value: 'Evil Corp' }, { field: 'trusted', operator: 'included', type: 'match', value: 'true' }] }], [], true],
  ['nested with excluded and exists', [{ field: 'file.Ext.code_signature', type: 'nested', entries: [
    { field: 'subject_name', operator: 'excluded', type: 'match_any', value: ['Microsoft'] }, { field: 'trusted', operator: 'included', type: 'exists' }] }], [], true],
  ['os_types', [m('process.name', 'CMD.EXE')], ['windows'], true],
  ['os_types, two', [{ field: 'host.name', operator: 'included', type: 'exists' }], ['linux', 'windows'], true],
  ['entries ANDed', [m('user.name', 'svc-backup'), { field: 'host.name', operator: 'excluded', type: 'wildcard', value: 'lab-*' }], [], true],
  ['text value list (memory only)', [{ field: 'message', operator: 'included', type: 'list', list: { id: 'phrases', type: 'text' } }], [], false],
  ['match on a text field (memory only)', [m('message', 'Alice logged on')], [], false],
];

describe('exceptions on the real server', () => {
  let env: TestEnv;
  let index: string;
  before(async () => {
    env = await testEnv();
    index = `${env.prefix}-agree`;
    await env.client.indices.create({
      index,
      mappings: {
        dynamic: 'strict',
        properties: {
          host: { properties: { name: { type: 'keyword' }, os: { properties: { type: { type: 'keyword' }, name: { properties: { caseless: { type: 'keyword' } } } } } } },
          process: { properties: { pid: { type: 'long' }, name: { type: 'keyword' }, args: { type: 'keyword' } } },
          source: { properties: { ip: { type: 'ip' } } },
          user: { properties: { name: { type: 'keyword' } } },
          message: { type: 'text' },
          file: { properties: { Ext: { properties: { code_signature: { type: 'nested', properties: { subject_name: { type: 'keyword' }, trusted: { type: 'boolean' } } } } } } },
        },
      },
    } as never);
    await env.client.bulk({ refresh: true, operations: DOCS.flatMap((d, i) => [{ index: { _index: index, _id: String(i) } }, d]) });
  });
  after(async () => env?.close());

  async function serverKept(mustNot: Record<string, unknown>[]): Promise<string[]> {
    const res = await env.client.search({ index, size: 100, query: { bool: { must_not: mustNot } } });
    return res.hits.hits.map((h) => String(h._id)).sort();
  }

  for (const [name, entries, osTypes, sent] of CASES) {
    test(`${name}: the search and memory keep the same events`, async () => {
      const item: ExceptionItem = { source: name, itemId: name, entries, osTypes };
      const x = compileExceptions([], [item], VALUES);
      const types = await fetchFieldTypes(env.client, [index], x.fields);
      const clauses = x.mustNot(types);
      assert.equal(clauses.length > 0, sent, `sent to the search: ${JSON.stringify(clauses)}`);
      const memory = DOCS.map((d, i) => [String(i), d] as const).filter(([, d]) => !x.excepts(d, NOW)).map(([id]) => id).sort();
      const server = await serverKept(clauses);
      if (sent) assert.deepEqual(memory, server);
      else assert.ok(memory.every((id) => server.includes(id)));
      // Every item as Kibana sends it (for rules that aggregate on the server): accepted, and the same answer here.
      assert.deepEqual(await serverKept(x.serverClauses(NOW)), memory);
      assert.ok(memory.length < DOCS.length || entries.some((e) => 'operator' in e && e.operator === 'excluded'), 'the case excepts something');
    });
  }

  // --- end to end ---

  async function ids(rule: Rule): Promise<string[]> {
    const { record } = await executeRule(env.deps, rule, { start: T0 - 60_000, end: T0 + 3_600_000 }, 'once');
    assert.equal(record.status, 'succeeded', record.error);
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId);
    return alerts.map((a) => a['kibana.alert.ancestors'].map((x: { id: string }) => x.id).join('+')).sort();
  }
  const control = (rule: Rule): Rule => ({ ...rule, ruleId: `${rule.ruleId}-control`, exceptions: undefined });

  test('an EQL rule from a Kibana export with its exception lines and a value list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-exc-e2e-'));
    await cp(fileURLToPath(new URL('../fixtures/exceptions/kibana/', import.meta.url)), dir, { recursive: true });
    const file = join(dir, 'rules_export.ndjson');
    const events = `${env.prefix}-events-kibana`;
    await writeFile(file, (await readFile(file, 'utf8')).replace('"index":["lookout-exc-*"]', `"index":["${events}"]`));
    const set = await loadRules([dir]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    const rule = set.rules[0];
    const ev = (id: string, s: number, extra: Record<string, unknown>) => [{ index: { _index: events, _id: id } },
      { '@timestamp': iso(T0 + s * 1000), event: { category: ['process'], type: ['start'] }, process: { name: 'whoami.exe' }, ...extra }];
    await env.client.bulk({ refresh: true, operations: [
      ...ev('plain', 1, { host: { name: 'ws1' } }),
      ...ev('jump', 2, { host: { name: 'jump-01' } }),
      ...ev('svc', 3, { host: { name: 'ws1' }, user: { name: 'svc-backup' } }),
      ...ev('svc-lab', 4, { host: { name: 'lab-1' }, user: { name: 'svc-backup' } }),
      ...ev('monitor', 5, { host: { name: 'ws1' }, process: { name: 'whoami.exe', parent: { name: 'monitor.exe' }, args: ['/all'] } }),
      ...ev('expired', 6, { host: { name: 'ws-old' } }),
    ] });
    assert.deepEqual(await ids(rule), ['expired', 'plain', 'svc-lab']);
    assert.deepEqual(await ids(control(rule)), ['expired', 'jump', 'monitor', 'plain', 'svc', 'svc-lab']);
    const { query } = await executeRule(env.deps, rule, { start: T0 - 60_000, end: T0 + 3_600_000 }, 'once');
    assert.match(JSON.stringify(query), /"must_not":\[.*"terms":\{"host\.name":\["jump-01","jump-02","JUMP-03"\]\}/, 'the value list goes to the search');
    const alert = (await alertsIn(env.client, env.alertsIndex)).find((a) => a['kibana.alert.rule.rule_id'] === rule.ruleId)!;
    assert.deepEqual(alert['kibana.alert.rule.exceptions_list'], [
      { id: '8f0a2e10-8767-11f1-b3c5-3f0e5a1c2d01', list_id: 'shared-admin-tools', type: 'detection', namespace_type: 'single' },
      { id: '9a1b3c20-8767-11f1-b3c5-3f0e5a1c2d02', list_id: 'c1a7d7b0-rule-default', type: 'rule_default', namespace_type: 'single' },
    ]);
  });

  test('an EQL sequence: an excepted event cannot take part in a sequence', async () => {
    const events = `${env.prefix}-events-seq`;
    const file = await writeRuleFile({ ruleId: 'exc-seq', indices: [events],
      query: 'sequence by host.name with maxspan=1m [process where process.name == "a.exe"] [process where process.name == "b.exe"]' });
    await writeFile(join(file, '..', 'seq.exceptions.yml'), 'rule_ids: [exc-seq]\nitems:\n  - comment: safe mode\n    entries:\n      - { field: process.args, operator: included, type: match, value: --safe }\n');
    const set = await loadRules([join(file, '..')]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    const rule = set.rules[0];
    const ev = (id: string, s: number, host: string, name: string, args: string[] = []) => [{ index: { _index: events, _id: id } },
      { '@timestamp': iso(T0 + s * 1000), event: { category: ['process'], type: ['start'] }, host: { name: host }, process: { name, args } }];
    await env.client.bulk({ refresh: true, operations: [
      ...ev('h1a', 1, 'h1', 'a.exe', ['--safe']), ...ev('h1b', 2, 'h1', 'b.exe'),
      ...ev('h2a', 1, 'h2', 'a.exe'), ...ev('h2b', 2, 'h2', 'b.exe'),
      ...ev('h3a1', 1, 'h3', 'a.exe'), ...ev('h3a2', 2, 'h3', 'a.exe', ['--safe']), ...ev('h3b', 3, 'h3', 'b.exe', ['--safe']),
    ] });
    assert.deepEqual(await ids(rule), ['h2a+h2b']);
    assert.deepEqual(await ids(control(rule)), ['h1a+h1b', 'h2a+h2b', 'h3a2+h3b']);
  });

  test('a Sigma rule with a Lookout exceptions file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-exc-sigma-'));
    await writeFile(join(dir, 'whoami.yml'), WHOAMI_SIGMA);
    await writeFile(join(dir, 'helpdesk.exceptions.yml'), `rule_ids: [${WHOAMI_SIGMA_ID}]\nitems:\n  - entries:\n      - { field: user.name, operator: included, type: match, value: helpdesk1 }\n`);
    const set = await loadRules([dir]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    const events = `logs-endpoint.events.process-${env.prefix}`;
    const rule: Rule = { ...set.rules[0], indices: [events] };
    const ev = (id: string, s: number, user: string) => [{ index: { _index: events, _id: id } },
      { '@timestamp': iso(T0 + s * 1000), event: { category: ['process'], type: ['start'], kind: 'event' }, host: { os: { type: 'windows' } },
        process: { executable: 'C:\\Windows\\System32\\whoami.exe', name: 'whoami.exe' }, user: { name: user } }];
    try {
      await env.client.bulk({ refresh: true, operations: [...ev('alice', 1, 'alice'), ...ev('helpdesk', 2, 'helpdesk1')] });
      assert.deepEqual(await ids(rule), ['alice']);
      assert.deepEqual(await ids(control(rule)), ['alice', 'helpdesk']);
    } finally {
      await env.client.indices.delete({ index: events, ignore_unavailable: true });
    }
  });
});
