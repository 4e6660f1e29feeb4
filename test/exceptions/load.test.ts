import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRules } from '../../src/rules/load.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/exceptions/kibana/', import.meta.url));
const NOW = Date.parse('2026-11-26T00:00:00Z');

async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-exc-'));
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

const event = (over: Record<string, unknown>) => ({ process: { name: 'whoami.exe' }, host: { name: 'ws1' }, ...over });

describe('exceptions from a Kibana export', () => {
  test('the rule gets the lists it references, with their items and value lists', async () => {
    const set = await loadRules([FIXTURE]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    assert.equal(set.rules.length, 1);
    const x = set.rules[0].exceptions!;
    assert.deepEqual(x.lists.map((l) => [l.list_id, l.type, l.namespace_type, l.id]), [
      ['shared-admin-tools', 'detection', 'single', '8f0a2e10-8767-11f1-b3c5-3f0e5a1c2d01'],
      ['c1a7d7b0-rule-default', 'rule_default', 'single', '9a1b3c20-8767-11f1-b3c5-3f0e5a1c2d02'],
    ]);
    assert.equal(x.itemCount, 4);
    const cases: [string, Record<string, unknown>, boolean][] = [
      ['a host of the value list', { host: { name: 'jump-02' } }, true],
      ['a value list line with CRLF', { host: { name: 'jump-02' } }, true],
      ['value lists keep case (keyword)', { host: { name: 'jump-03' } }, false],
      ['another host', {}, false],
      ['the service account off the lab', { user: { name: 'svc-backup' } }, true],
      ['the service account in the lab (excluded wildcard)', { user: { name: 'svc-backup' }, host: { name: 'lab-7' } }, false],
      ['the expired item', { host: { name: 'ws-old' } }, false],
      ['rule_default: parent and args', { process: { name: 'whoami.exe', parent: { name: 'monitor.exe' }, args: ['/all'] } }, true],
      ['rule_default: parent without args', { process: { name: 'whoami.exe', parent: { name: 'monitor.exe' } } }, false],
    ];
    for (const [name, over, expected] of cases) assert.equal(x.excepts(event(over), NOW), expected, name);
  });

  test('a rule naming a list that is not in the export is not loaded, and the error names rule, list and file', async () => {
    const dir = await copyFixture();
    const file = join(dir, 'rules_export.ndjson');
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => !l.includes('"list_id":"c1a7d7b0-rule-default"') || l.includes('"rule_id"'));
    await writeFile(file, lines.join('\n'));
    const set = await loadRules([dir]);
    assert.equal(set.rules.length, 0);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0].message, /rules_export\.ndjson: rule c1a7d7b0-4b50-4f44-9d1e-8d3c1f5a2b10 \(Whoami Execution\) not loaded: exceptions_list names list c1a7d7b0-rule-default \(single, rule_default\), which is neither in .*rules_export\.ndjson nor in any \*\.exceptions\.yml/);
    await rm(dir, { recursive: true });
  });

  test('a missing value list file is a load error naming the item, list and file', async () => {
    const dir = await copyFixture();
    await rm(join(dir, 'value_lists'), { recursive: true });
    const set = await loadRules([dir]);
    assert.equal(set.rules.length, 0);
    assert.match(set.errors[0].message, /not loaded: .*rules_export\.ndjson:3 \(item admin-hosts\): value list admin-hosts\.txt of exception list shared-admin-tools: cannot read .*value_lists\/admin-hosts\.txt\.txt/);
    await rm(dir, { recursive: true });
  });

  test('a value list folder given to the loader is used instead', async () => {
    const dir = await copyFixture();
    const other = await mkdtemp(join(tmpdir(), 'lookout-vl-'));
    await writeFile(join(other, 'admin-hosts.txt.txt'), 'elsewhere\n');
    const set = await loadRules([dir], { valueListsDir: other });
    assert.equal(set.rules[0].exceptions!.excepts(event({ host: { name: 'elsewhere' } }), NOW), true);
    assert.equal(set.rules[0].exceptions!.excepts(event({ host: { name: 'jump-01' } }), NOW), false);
    await rm(dir, { recursive: true });
    await rm(other, { recursive: true });
  });

  test('a bad exception item names the file, line, item and field', async () => {
    const dir = await copyFixture();
    const file = join(dir, 'rules_export.ndjson');
    const { readFile } = await import('node:fs/promises');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"operator":"included","type":"match","value":"svc-backup"', '"operator":"include","type":"match","value":"svc-backup"'));
    const set = await loadRules([dir]);
    assert.match(set.errors[0].message, /rules_export\.ndjson:4:1: exception item svc-account: entries\.0\.operator: /);
    await rm(dir, { recursive: true });
  });
});
