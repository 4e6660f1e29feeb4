import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { generateDataset } from '../../src/demo/generate.js';
import { runCli } from '../helpers/cli.js';
import { REPO, SHIPPED_RULE_FILE } from '../helpers/rules.js';

/** A minimal EQL rule file with this query (and extra `[rule]` lines). */
async function eqlRule(dir: string, query: string, extra: string[] = []): Promise<string> {
  const rule = join(dir, 'rule.toml');
  await writeFile(rule, [
    '[metadata]', 'creation_date = "2026/01/01"', 'maturity = "production"', 'updated_date = "2026/01/01"', '',
    '[rule]', 'author = ["test"]', 'description = "raw results"', 'from = "now-9m"', 'index = ["logs-*"]', 'language = "eql"',
    'license = "Elastic License v2"', 'name = "raw"', 'risk_score = 21', 'rule_id = "0c3f6a4e-1111-4222-8333-944455556666"', 'severity = "low"',
    'type = "eql"', ...extra, "query = '''", query, "'''", '',
  ].join('\n'));
  return rule;
}

describe('lookout test-rule (offline)', () => {
  test('prints one alert per planted attack, with the severity mapping applied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const data = generateDataset({ seed: 3, start: 0, end: 3_600_000, noiseEvents: 2000, attacks: 9, hosts: 30 });
    const file = join(dir, 'events.ndjson');
    // Half as search hits, half as bare documents: both forms are accepted.
    await writeFile(file, data.events.map((e, i) => JSON.stringify(i % 2 ? { _index: e.index, _id: e.id, _source: e.source } : e.source)).join('\n') + '\n');
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file, '--now', '2026-11-25T00:00:00Z']);
    assert.equal(r.code, 0, r.stderr);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(alerts.length, 9);
    const byHost = new Map(alerts.map((a) => [a._source.host.id, a._source]));
    for (const attack of data.attacks) {
      const a = byHost.get(attack.hostId);
      assert.ok(a, `no alert for ${attack.hostId}`);
      assert.equal(a['kibana.alert.severity'], attack.severity);
      assert.equal(a['kibana.alert.risk_score'], attack.severity === 'high' ? 73 : 47);
      assert.equal(a.lookout.summary.source_ip, attack.sourceIp);
      assert.equal(a['@timestamp'], '2026-11-25T00:00:00.000Z');
    }
  });

  test('max_signals caps the alerts and says how many were left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const data = generateDataset({ seed: 4, start: 0, end: 36_000_000, noiseEvents: 0, attacks: 130, hosts: 3 });
    const file = join(dir, 'events.ndjson');
    await writeFile(file, data.events.map((e) => JSON.stringify({ _index: e.index, _id: e.id, _source: e.source })).join('\n'));
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().split('\n').length, 100);
    assert.match(r.stderr, /130 match\(es\), 100 alert\(s\), 30 over max_signals \(100\) not written/);
  });

  test('bad lines are reported with their line number and skipped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const file = join(dir, 'events.ndjson');
    await writeFile(file, '{"@timestamp": "2026-01-01T00:00:00Z"}\nnot json\n[1]\n{"no": "time"}\n{"@timestamp": "Jan 1 2026"}\n');
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file, '--parse-all']);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /events\.ndjson:2: not JSON/);
    assert.match(r.stderr, /events\.ndjson:3: expected a JSON object/);
    assert.match(r.stderr, /events\.ndjson:4: no usable @timestamp/);
    assert.match(r.stderr, /events\.ndjson:5: no usable @timestamp \("Jan 1 2026" is not a date Elasticsearch's default format reads\)/);
    assert.match(r.stderr, /1 event\(s\), 0 match\(es\), 0 alert\(s\); 4 line\(s\) skipped/);
    // Without --parse-all, lines that hold none of the rule's values are passed over unparsed.
    const fast = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file]);
    assert.match(fast.stderr, /0 event\(s\), 0 match\(es\), 0 alert\(s\); 5 line\(s\) passed over unparsed/);
  });

  test('validate lists every problem and fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-val-'));
    await writeFile(join(dir, 'bad.toml'), '[rule]\nname = 1\n');
    const r = await runCli(['validate', SHIPPED_RULE_FILE, dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok {7}.*Incoming Execution via WinRM Remote Shell/);
    assert.match(r.stdout, /error {4}.*bad\.toml:\d+:\d+: rule\./);
    assert.match(r.stdout, /1 valid, 0 skipped, 1 invalid/);
  });

  test('validate counts a disabled rule as valid, marked disabled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-val-'));
    const shipped = await readFile(SHIPPED_RULE_FILE, 'utf8');
    await writeFile(join(dir, 'off.toml'), shipped.replace('type = "eql"', 'type = "eql"\nenabled = false'));
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ok \(disabled\) .*off\.toml: Incoming Execution via WinRM Remote Shell/m);
    assert.match(r.stdout, /1 valid, 0 skipped, 0 invalid; 1 of the valid disabled \(not run\)/);
  });

  test('backfill connects while the rules load: without a rule to run the rules\' error is reported, with one the cluster\'s', async () => {
    // Nothing listens on port 9: the connection made beside the rule loading fails.
    const env = { ELASTICSEARCH_URL: 'http://127.0.0.1:9', ELASTICSEARCH_REQUEST_TIMEOUT: '2s' };
    const range = ['--from', '2026-11-01T00:00:00Z', '--to', '2026-11-01T01:00:00Z'];
    const none = await runCli(['backfill', '--rule', 'no-such-rule', ...range], { ...env, LOOKOUT_RULES_DIR: join(REPO, 'rules') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no loaded rule has rule_id no-such-rule/);
    assert.doesNotMatch(none.stderr, /cannot reach Elasticsearch/);
    const one = await runCli(['backfill', ...range], { ...env, LOOKOUT_RULES_DIR: join(REPO, 'rules') });
    assert.equal(one.code, 1);
    assert.match(one.stderr, /cannot reach Elasticsearch at http:\/\/127\.0\.0\.1:9/);
  });

  test('usage errors exit 2 with the usage text', async () => {
    const r = await runCli(['backfill', '--from', 'x', '--to', 'y']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--from: expected an ISO 8601 time or epoch milliseconds, found "x"/);
    const r2 = await runCli(['frobnicate']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /unknown command 'frobnicate'/);
  });

  test('invalid configuration exits 1 naming the variable', async () => {
    const r = await runCli(['run', '--once'], { LOOKOUT_PAGE_SIZE: '0' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LOOKOUT_PAGE_SIZE: expected a whole number from 1 to 10000, found "0"/);
  });

  test('test-rule runs Sigma rules too: the seed correlation over 31 computers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const file = join(dir, 'events.ndjson');
    const events = Array.from({ length: 31 }, (_, i) => ({
      _index: 'winlogbeat-2026.11.25', _id: `e${i}`,
      _source: { '@timestamp': new Date(Date.UTC(2026, 10, 25, 10, 0, i * 10)).toISOString(), winlog: { channel: 'Security', event_id: 4688, computer_name: `WS${i}`, event_data: { NewProcessName: 'C:\\Windows\\System32\\wsmprovhost.exe', TargetUserName: 'alice' } } },
    }));
    await writeFile(file, events.map((e) => JSON.stringify(e)).join('\n'));
    const rule = SHIPPED_RULE_FILE.replace('windows/lateral_movement_incoming_winrm_shell_execution.toml', 'sigma/win_security_winrm_listening_service_reconnaissance.yml');
    const r = await runCli(['test-rule', rule, '--events', file]);
    assert.equal(r.code, 0, r.stderr);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]._source.lookout.correlation.value, 31);
    assert.equal(r.stderr.includes('31 event(s), 1 match(es), 1 alert(s)'), true, r.stderr);
  });

  test('test-rule --raw prints the engine results: events in order, null for a missing event, join keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const rule = await eqlRule(dir, 'sequence by ?host.id with maxspan=1m [process where true] ![network where true] [file where true]');
    const file = join(dir, 'events.ndjson');
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await writeFile(file, [
      { _index: 'logs-a', _id: 'p1', _source: { '@timestamp': at(1), event: { category: 'process' }, host: { id: 'h1' } } },
      { _index: 'logs-a', _id: 'f1', _source: { '@timestamp': at(2), event: { category: 'file' }, host: { id: 'h1' } } },
      { _index: 'logs-a', _id: 'p0', _source: { '@timestamp': at(3), event: { category: 'process' } } },
      { _index: 'logs-a', _id: 'n0', _source: { '@timestamp': at(4), event: { category: 'network' } } },
      { _index: 'logs-a', _id: 'f0', _source: { '@timestamp': at(5), event: { category: 'file' } } },
    ].map((e) => JSON.stringify(e)).join('\n'));
    const r = await runCli(['test-rule', rule, '--events', file, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { join_keys: ['h1'], events: [{ _index: 'logs-a', _id: 'p1', timestamp: at(1) }, null, { _index: 'logs-a', _id: 'f1', timestamp: at(2) }] },
    ]);
    assert.match(r.stderr, /5 event\(s\), 1 match\(es\)/);
  });

  test('max_samples_per_key: a rule field, overridden by the test-rule option; refused on a non-sample rule', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const rule = await eqlRule(dir, 'sample by host.id [process where true] [file where true]', ['max_samples_per_key = 2']);
    const file = join(dir, 'events.ndjson');
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await writeFile(file, ['p1', 'p2', 'f1', 'f2'].map((id, i) => JSON.stringify({ _index: 'logs-a', _id: id, _source: { '@timestamp': at(i), event: { category: id[0] === 'p' ? 'process' : 'file' }, host: { id: 'h' } } })).join('\n'));
    const ids = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l).events.map((e: { _id: string }) => e._id));
    const r = await runCli(['test-rule', rule, '--events', file, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(r.stdout), [['p1', 'f1'], ['p1', 'f2']]);
    const r1 = await runCli(['test-rule', rule, '--events', file, '--raw', '--max-samples-per-key', '1']);
    assert.deepEqual(ids(r1.stdout), [['p1', 'f1']]);
    const bad = await runCli(['test-rule', rule, '--events', file, '--max-samples-per-key', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-samples-per-key: expected a whole number from 1 to 10000, found "0"/);
    const seq = await eqlRule(dir, 'sequence by host.id [process where true] [file where true]', ['max_samples_per_key = 2']);
    const v = await runCli(['validate', seq]);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /rule\.toml:\d+:\d+: rule\.max_samples_per_key: only a sample query takes it; this query is a sequence/);
  });

  test('test-rule --mapping: date, ip and version fields compare as Elasticsearch does; without it, says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const rule = await eqlRule(dir, 'process where @timestamp == "2026-01-01T00:00:01Z" and source.ip == "10.0.0.1" and agent.version > "8.9.0"');
    const file = join(dir, 'events.ndjson');
    await writeFile(file, [
      { _index: 'logs-a', _id: 'hit', _source: { '@timestamp': '2026-01-01T01:00:01+01:00', event: { category: 'process' }, source: { ip: '::ffff:10.0.0.1' }, agent: { version: '8.10.0' } } },
      { _index: 'logs-a', _id: 'old', _source: { '@timestamp': '2026-01-01T01:00:01+01:00', event: { category: 'process' }, source: { ip: '10.0.0.1' }, agent: { version: '8.2.0' } } },
    ].map((e) => JSON.stringify(e)).join('\n'));
    const mapping = join(dir, 'mapping.json');
    await writeFile(mapping, JSON.stringify({ 'logs-a': { mappings: { properties: { '@timestamp': { type: 'date' }, source: { properties: { ip: { type: 'ip' } } }, agent: { properties: { version: { type: 'version' } } } } } } }));
    const ids = (out: string) => out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).events[0]._id);
    const typed = await runCli(['test-rule', rule, '--events', file, '--raw', '--mapping', mapping]);
    assert.equal(typed.code, 0, typed.stderr);
    assert.deepEqual(ids(typed.stdout), ['hit']);
    assert.doesNotMatch(typed.stderr, /no --mapping/);
    const plain = await runCli(['test-rule', rule, '--events', file, '--raw']);
    assert.deepEqual(ids(plain.stdout), []);
    assert.match(plain.stderr, /note: no --mapping: values compare by their JSON type/);
    await writeFile(mapping, '{"properties": {"a": 1}}');
    const bad = await runCli(['test-rule', rule, '--events', file, '--mapping', mapping]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /mapping\.json: field a: expected an object/);
  });

  test('test-rule --raw over Elasticsearch\'s sample QA data gives its answers (events without a timestamp kept for a sample)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-'));
    const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/eql-qa/${name}`, import.meta.url));
    const cases: [string, string[], string[][]][] = [
      ['sample by host, os [success where true] [alert where true]', [], [['18', '11']]],
      ['sample by ?host, ?os [success where true] [alert where true]', [], [['29', '24'], ['28', '21'], ['18', '11']]],
      ['sample by @timestamp_pretty [alert where true] [failure where op_sys == "redhat"]', ['--mapping', fixture('sample-mapping.json')], [['15', '27']]],
    ];
    for (const [query, extra, expected] of cases) {
      const rule = await eqlRule(dir, query, ['event_category_override = "event_type"']);
      const r = await runCli(['test-rule', rule, '--events', fixture('sample.ndjson'), '--raw', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).events.map((e: { _id: string }) => e._id)), expected, query);
      assert.match(r.stderr, /kept without a time \(a sample does not use time\): .*sample\.ndjson:1: no usable @timestamp/);
    }
  });
});
