import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateDataset } from '../../src/demo/generate.js';
import { runCli } from '../helpers/cli.js';
import { SHIPPED_RULE_FILE } from '../helpers/rules.js';

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
    await writeFile(file, '{"@timestamp": "2026-01-01T00:00:00Z"}\nnot json\n[1]\n{"no": "time"}\n');
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file, '--parse-all']);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /events\.ndjson:2: not JSON/);
    assert.match(r.stderr, /events\.ndjson:3: expected a JSON object/);
    assert.match(r.stderr, /events\.ndjson:4: no usable @timestamp/);
    assert.match(r.stderr, /1 event\(s\), 0 match\(es\), 0 alert\(s\); 3 line\(s\) skipped/);
    // Without --parse-all, lines that hold none of the rule's values are passed over unparsed.
    const fast = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', file]);
    assert.match(fast.stderr, /0 event\(s\), 0 match\(es\), 0 alert\(s\); 4 line\(s\) passed over unparsed/);
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
});
