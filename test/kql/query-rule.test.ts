/**
 * Query rules (KQL) without a server: loading from TOML and NDJSON (default language, error
 * positions), `test-rule` over an events file (date math on `--now`, the approximation note),
 * and the Endpoint list policy (`endpoint_list` applied as empty, any other missing list an error).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import { runCli } from '../helpers/cli.js';

function toml(query: string, extra = ''): string {
  return `[metadata]
creation_date = "2026/11/26"

[rule]
author = ["Lookout"]
description = "Whoami."
from = "now-10m"
index = ["logs-*"]
name = "Whoami"
risk_score = 21
rule_id = "7e1c0000-0000-4000-8000-00000000b001"
severity = "low"
type = "query"
query = '''
${query}
'''
${extra}`;
}

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-kql-rule-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const ENDPOINT = '[[rule.exceptions_list]]\nid = "endpoint_list"\nlist_id = "endpoint_list"\nnamespace_type = "agnostic"\ntype = "endpoint"\n';

describe('query rules in KQL', () => {
  test('a TOML rule without `language` is KQL (Kibana\'s default for query rules)', async () => {
    const set = await loadRules([await folder({ 'r.toml': toml('process.name:whoami.exe') })]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    const [rule] = set.rules;
    assert.equal(rule.type, 'query');
    assert.equal(rule.language, 'kuery');
    assert.equal(rule.compiled.plan, 'streamed');
    assert.equal(rule.compiled.alert.category, 'Custom Query Rule');
    assert.deepEqual(rule.compiled.fields, ['process.name']);
  });

  test('field-less terms fetch every field\'s type; wildcard names are never reported missing', async () => {
    const set = await loadRules([await folder({ 'r.toml': toml('mimikatz and process.*:x and user.name:y') })]);
    const [rule] = set.rules;
    assert.deepEqual(rule.compiled.fields, ['process.*', 'user.name', '*']);
    assert.deepEqual([...rule.compiled.namedFields.keys()], ['user.name']);
  });

  test('a KQL syntax error in an NDJSON export names the line', async () => {
    const line = JSON.stringify({ rule_id: 'x1', name: 'X', description: 'x', risk_score: 1, severity: 'low', type: 'query', language: 'kuery', index: ['a'], query: 'a:(b or' });
    const set = await loadRules([await folder({ 'e.ndjson': `${line}\n` })]);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0].message, /e\.ndjson:1:\d+: rule\.query: KQL syntax error: Expected /);
  });

  test('test-rule runs a query rule over an events file, with --now as the clock of date math, and says where it approximates', async () => {
    const dir = await folder({
      'r.toml': toml('process.name:whoami.exe and event.created > now-1h'),
      'events.ndjson': [
        { '@timestamp': '2026-11-26T11:59:00Z', process: { name: 'whoami.exe' }, event: { created: '2026-11-26T11:30:00Z' } },
        { '@timestamp': '2026-11-26T11:59:01Z', process: { name: 'whoami.exe' }, event: { created: '2026-11-26T10:00:00Z' } },
        { '@timestamp': '2026-11-26T11:59:02Z', process: { name: 'net.exe' }, event: { created: '2026-11-26T11:30:00Z' } },
      ].map((e) => JSON.stringify(e)).join('\n') + '\n',
      'mapping.json': JSON.stringify({ properties: { process: { properties: { name: { type: 'keyword' } } }, event: { properties: { created: { type: 'date' } } } } }),
    });
    const typed = await runCli(['test-rule', join(dir, 'r.toml'), '--events', join(dir, 'events.ndjson'), '--now', '2026-11-26T12:00:00Z', '--mapping', join(dir, 'mapping.json')]);
    assert.equal(typed.code, 0, typed.stderr);
    const alerts = typed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]._source['kibana.alert.rule.rule_type_id'], 'siem.queryRule');
    assert.equal(alerts[0]._source['kibana.alert.original_time'], '2026-11-26T11:59:00.000Z');
    assert.doesNotMatch(typed.stderr, /approximates/);
    // An hour later by --now, the first event is out of `now-1h` too.
    const later = await runCli(['test-rule', join(dir, 'r.toml'), '--events', join(dir, 'events.ndjson'), '--now', '2026-11-26T12:31:00Z', '--mapping', join(dir, 'mapping.json')]);
    assert.equal(later.stdout, '');
    const untyped = await runCli(['test-rule', join(dir, 'r.toml'), '--events', join(dir, 'events.ndjson'), '--now', '2026-11-26T12:00:00Z']);
    assert.match(untyped.stderr, /note: the in-memory verdict approximates the server's on event\.created, process\.name \(no --mapping/);
  });

  test('test-rule reads every field for field-less terms and wildcard field names', async () => {
    const dir = await folder({
      'r.toml': toml('mimikatz or process.*:sekurlsa'),
      'events.ndjson': [
        { '@timestamp': '2026-11-26T11:59:00Z', message: 'mimikatz' },
        { '@timestamp': '2026-11-26T11:59:01Z', process: { command_line: 'sekurlsa' } },
        { '@timestamp': '2026-11-26T11:59:02Z', message: 'nothing' },
      ].map((e) => JSON.stringify(e)).join('\n') + '\n',
    });
    const out = await runCli(['test-rule', join(dir, 'r.toml'), '--events', join(dir, 'events.ndjson'), '--raw']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split('\n').map((l) => JSON.parse(l).events[0]._id), ['line-1', 'line-2']);
  });

  test('a reference to Kibana\'s Endpoint list that nobody provided is applied as empty and said so; any other missing list stays an error', async () => {
    const dir = await folder({ 'r.toml': toml('process.name:whoami.exe', ENDPOINT) });
    const set = await loadRules([dir]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    assert.deepEqual(set.rules[0].exceptions?.assumedEmpty, ['endpoint_list']);
    assert.equal(set.rules[0].exceptions?.itemCount, 0);
    const out = await runCli(['validate', dir]);
    assert.match(out.stdout, /0 exception item\(s\) from endpoint_list; endpoint_list: not provided, applied as empty\n/);
    // Provided (a Lookout file with that list_id): applied, and no longer said to be empty.
    const provided = await folder({
      'r.toml': toml('process.name:whoami.exe', ENDPOINT),
      'endpoint.exceptions.yml': 'list_id: endpoint_list\nnamespace_type: agnostic\nitems:\n  - entries: [{ field: user.name, operator: included, type: match, value: svc }]\n',
    });
    const withList = await loadRules([provided]);
    assert.equal(withList.rules[0].exceptions?.assumedEmpty, undefined);
    assert.equal(withList.rules[0].exceptions?.itemCount, 1);
    for (const other of [ENDPOINT.replace(/endpoint_list/g, 'soc_list'), ENDPOINT.replace('agnostic', 'single')]) {
      const bad = await loadRules([await folder({ 'r.toml': toml('process.name:whoami.exe', other) })]);
      assert.equal(bad.rules.length, 0);
      assert.match(bad.errors[0].message, /not loaded: exceptions_list names list (soc_list|endpoint_list) /);
    }
  });
});
