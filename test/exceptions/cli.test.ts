import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/exceptions/kibana/', import.meta.url));

describe('lookout validate and test-rule with exceptions', () => {
  test('validate names the exception lists each rule runs with, and reports bad exceptions files', async () => {
    const ok = await runCli(['validate', FIXTURE]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok {7}.*rules_export\.ndjson: Whoami Execution \(c1a7d7b0-4b50-4f44-9d1e-8d3c1f5a2b10\), 4 exception item\(s\) from shared-admin-tools, c1a7d7b0-rule-default/);
    const dir = await mkdtemp(join(tmpdir(), 'lookout-val-exc-'));
    await writeFile(join(dir, 'bad.exceptions.yml'), 'rule_ids: [x]\nitems:\n  - entries:\n      - { field: a, operator: included, type: regex, value: b }\n');
    const bad = await runCli(['validate', FIXTURE, dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /error {4}.*bad\.exceptions\.yml:4:\d+: item 0: items\.0\.entries\.0\.type: /);
    assert.match(bad.stdout, /1 valid, 0 skipped, 1 invalid/);
  });

  test('test-rule applies the exceptions of a Kibana export', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tr-exc-'));
    const events = join(dir, 'events.ndjson');
    const ev = (host: string, s: number) => JSON.stringify({ _index: 'lookout-exc-1', _id: host, _source: {
      '@timestamp': `2026-11-10T00:00:0${s}Z`, event: { category: ['process'] }, process: { name: 'whoami.exe' }, host: { name: host } } });
    await writeFile(events, [ev('ws1', 1), ev('jump-01', 2)].join('\n') + '\n');
    const r = await runCli(['test-rule', join(FIXTURE, 'rules_export.ndjson'), '--events', events, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /2 event\(s\), 1 match\(es\)/);
    assert.match(r.stdout, /"_id":"ws1"/);
    assert.doesNotMatch(r.stdout, /jump-01/);
  });
});
