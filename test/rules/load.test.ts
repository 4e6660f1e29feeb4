import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import { SHIPPED_RULE_FILE } from '../helpers/rules.js';

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-rules-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const shipped = await readFile(SHIPPED_RULE_FILE, 'utf8');

describe('rule loading', () => {
  test('the shipped WinRM rule loads with its schedule, cap, severity and mappings', async () => {
    const set = await loadRules([SHIPPED_RULE_FILE]);
    assert.equal(set.errors.length, 0);
    const r = set.rules[0];
    assert.equal(r.ruleId, '1cd01db9-be24-4bef-8e7c-e923f0ff78ab');
    assert.equal(r.name, 'Incoming Execution via WinRM Remote Shell');
    assert.equal(r.lookbackMs, 9 * 60_000);
    assert.equal(r.intervalMs, 5 * 60_000);
    assert.equal(r.maxSignals, 100);
    assert.equal(r.riskScore, 47);
    assert.equal(r.severity, 'medium');
    assert.equal(r.version, 214);
    assert.deepEqual(r.indices.slice(0, 2), ['winlogbeat-*', 'logs-endpoint.events.process-*']);
    assert.deepEqual(r.severityMapping.map((m) => [m.value, m.severity, m.riskScore]), [
      ['cmd.exe', 'high', 73], ['powershell.exe', 'high', 73], ['pwsh.exe', 'high', 73], ['mimikatz.exe', 'high', 73],
    ]);
    assert.equal(r.threat[0].tactic.id, 'TA0008');
    assert.equal(r.threat[0].technique?.[0].subtechnique?.[0].id, 'T1021.006');
    assert.equal(r.compiled.kind, 'sequence');
    assert.ok(Object.isFrozen(r));
  });

  test('a TOML syntax error names the file, line and column; the other rules still load', async () => {
    const dir = await dirWith({ 'good.toml': shipped, 'bad.toml': '[rule]\nname = "x\n' });
    const set = await loadRules([dir]);
    assert.equal(set.rules.length, 1);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0].message, /bad\.toml:2:\d+: TOML syntax error/);
  });

  test('a schema error names the field and its line', async () => {
    const bad = shipped.replace('risk_score = 47', 'risk_score = 470');
    const dir = await dirWith({ 'r.toml': bad });
    const set = await loadRules([dir]);
    assert.equal(set.errors.length, 1);
    const line = bad.split('\n').findIndex((l) => l.startsWith('risk_score = 470')) + 1;
    assert.match(set.errors[0].message, new RegExp(`r\\.toml:${line}:1: rule\\.risk_score: .*100`));
  });

  test('a missing required field is named', async () => {
    const dir = await dirWith({ 'r.toml': shipped.replace(/^severity = "medium"\n/m, '') });
    const set = await loadRules([dir]);
    assert.match(set.errors[0].message, /r\.toml:\d+:1: rule\.severity: /);
  });

  test('an EQL error points at the line and column inside the file', async () => {
    const bad = shipped.replace('process.pid == 4', 'process.pid = 4');
    const dir = await dirWith({ 'r.toml': bad });
    const set = await loadRules([dir]);
    const lines = bad.split('\n');
    const line = lines.findIndex((l) => l.includes('process.pid = 4')) + 1;
    const column = lines[line - 1].indexOf('= 4') + 1;
    assert.equal(set.errors[0].message.split(': rule.query')[0], `${join(dir, 'r.toml')}:${line}:${column}`);
    assert.match(set.errors[0].message, /EQL syntax error: Unexpected '='; use '==' to compare$/);
  });

  test('bad from and interval are explained', async () => {
    const dir = await dirWith({
      'a.toml': shipped.replace('from = "now-9m"', 'from = "yesterday"'),
      'b.toml': shipped.replace('interval = "5m"', 'interval = "often"').replace(/rule_id = "[^"]+"/, 'rule_id = "other"'),
    });
    const set = await loadRules([dir]);
    const messages = set.errors.map((e) => e.message).sort();
    assert.match(messages[0], /a\.toml:\d+:1: rule\.from: expected date math like "now-9m", found "yesterday"/);
    assert.match(messages[1], /b\.toml:\d+:1: rule\.interval: expected a duration/);
  });

  test('a disabled rule loads (exceptions and errors checked) and is returned apart from the rules to run, not skipped', async () => {
    const off = shipped.replace('type = "eql"', 'type = "eql"\nenabled = false');
    const set = await loadRules([await dirWith({ 'on.toml': shipped, 'off.toml': off.replace(/rule_id = "[^"]+"/, 'rule_id = "off-1"') })]);
    assert.deepEqual(set.rules.map((r) => r.ruleId), ['1cd01db9-be24-4bef-8e7c-e923f0ff78ab']);
    assert.deepEqual(set.disabled.map((r) => [r.ruleId, r.enabled]), [['off-1', false]]);
    assert.deepEqual(set.skipped, []);
    const broken = await loadRules([await dirWith({ 'off.toml': off.replace(/from = "[^"]+"/, 'from = "yesterday"') })]);
    assert.equal(broken.disabled.length, 0);
    assert.match(broken.errors[0].message, /off\.toml:\d+:1: rule\.from/);
  });

  test('rules of other types are listed as skipped with the reason', async () => {
    const ml = shipped.replace('type = "eql"', 'type = "machine_learning"').replace('language = "eql"\n', '');
    const set = await loadRules([await dirWith({ 't.toml': ml })]);
    assert.equal(set.rules.length, 0);
    assert.equal(set.errors.length, 0);
    assert.equal(set.skipped[0].reason, "rule type 'machine_learning' is not run by Lookout yet");
  });

  test('a duplicate rule_id is an error for the second file', async () => {
    const set = await loadRules([await dirWith({ 'a.toml': shipped, 'b.toml': shipped })]);
    assert.equal(set.rules.length, 1);
    assert.match(set.errors[0].message, /b\.toml: rule_id 1cd01db9-be24-4bef-8e7c-e923f0ff78ab is already used by .*a\.toml/);
  });

  test('a path that does not exist is reported', async () => {
    const set = await loadRules(['/nonexistent/rules']);
    assert.match(set.errors[0].message, /^\/nonexistent\/rules: cannot read/);
  });

  test("Kibana's NDJSON export: each line a rule, errors by line, summary lines passed over", async () => {
    const { parse } = await import('smol-toml');
    const rule = (parse(shipped) as { rule: Record<string, unknown> }).rule;
    const lines = [
      JSON.stringify({ ...rule, id: 'a8f1', created_at: '2026-01-01T00:00:00Z', enabled: true }),
      JSON.stringify({ ...rule, rule_id: 'second', query: 'process where process.name = "x"' }),
      '{not json',
      JSON.stringify({ ...rule, rule_id: 'third', type: 'machine_learning', language: undefined }),
      JSON.stringify({ exported_count: 3, exported_rules_count: 3, missing_rules: [] }),
    ];
    const set = await loadRules([await dirWith({ 'export.ndjson': lines.join('\n') })]);
    assert.equal(set.rules.length, 1);
    assert.equal(set.rules[0].ruleId, '1cd01db9-be24-4bef-8e7c-e923f0ff78ab');
    assert.equal(set.rules[0].severityMapping.length, 4);
    const messages = set.errors.map((e) => e.message);
    assert.match(messages[0], /export\.ndjson:2:\d+: rule\.query: EQL syntax error: Unexpected '='/);
    assert.match(messages[1], /export\.ndjson:3:1: not JSON/);
    assert.equal(set.skipped[0].ruleId, 'third');
  });
});
