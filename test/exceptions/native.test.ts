import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import { writeRuleFile } from '../helpers/rule-file.js';
import { WHOAMI_SIGMA, WHOAMI_SIGMA_ID } from '../helpers/sigma.js';

const NOW = Date.parse('2026-11-26T00:00:00Z');

async function folder(files: Record<string, string>): Promise<{ dir: string; tomlId: string }> {
  const tomlId = 'f00dcafe-0000-4000-8000-000000000001';
  const file = await writeRuleFile({ ruleId: tomlId, query: 'process where process.name == "whoami.exe"', indices: ['logs-*'] });
  const dir = join(file, '..');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return { dir, tomlId };
}

describe('Lookout exceptions files', () => {
  test('one file shared by a TOML rule and a Sigma rule, by rule_id', async () => {
    const { dir, tomlId } = await folder({
      'whoami.yml': WHOAMI_SIGMA,
      'admins.exceptions.yml': `rule_ids: [${'f00dcafe-0000-4000-8000-000000000001'}, ${WHOAMI_SIGMA_ID}]
items:
  - comment: helpdesk runs whoami all day
    entries:
      - { field: user.name, operator: included, type: match_any, value: [helpdesk1, helpdesk2] }
  - comment: until the migration is over
    expire_time: 2026-01-01T00:00:00Z
    entries:
      - { field: host.name, operator: included, type: match, value: old-server }
`,
    });
    const set = await loadRules([dir]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    assert.equal(set.rules.length, 2);
    for (const r of set.rules) {
      const x = r.exceptions!;
      assert.deepEqual(x.lists, [{ id: 'admins', list_id: 'admins', type: 'detection', namespace_type: 'single' }], r.ruleId);
      assert.equal(x.excepts({ user: { name: 'helpdesk2' } }, NOW), true);
      assert.equal(x.excepts({ user: { name: 'alice' } }, NOW), false);
      assert.equal(x.excepts({ host: { name: 'old-server' } }, NOW), false, 'expired');
    }
    assert.ok(set.rules.some((r) => r.ruleId === tomlId));
  });

  test('a TOML rule whose exceptions_list names the file\'s list_id gets it', async () => {
    const { dir } = await folder({
      'x.exceptions.yml': 'list_id: shared\nitems:\n  - entries: [{ field: a, operator: included, type: exists }]\n',
    });
    const { readdir, readFile } = await import('node:fs/promises');
    const toml = join(dir, (await readdir(dir)).find((f) => f.endsWith('.toml'))!);
    await writeFile(toml, (await readFile(toml, 'utf8')).replace(/^\[rule\]$/m,
      '[rule]\nexceptions_list = [{ id = "shared", list_id = "shared", type = "detection", namespace_type = "single" }]'));
    const set = await loadRules([dir]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    assert.equal(set.rules[0].exceptions!.excepts({ a: 1 }, NOW), true);
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown operator', 'rule_ids: [x]\nitems:\n  - entries:\n      - { field: a, operator: is, type: match, value: b }\n',
      /bad\.exceptions\.yml:4:\d+: item 0: items\.0\.entries\.0\.operator: /],
    ['a missing value', 'rule_ids: [x]\nitems:\n  - comment: c\n    entries:\n      - field: a\n        operator: included\n        type: match\n',
      /bad\.exceptions\.yml:5:\d+: item 0: items\.0\.entries\.0\.value: /],
    ['a bad expire_time', 'rule_ids: [x]\nitems:\n  - expire_time: tomorrow\n    entries: [{ field: a, operator: included, type: exists }]\n',
      /bad\.exceptions\.yml:3:18: item 0: items\.0\.expire_time: expected an ISO 8601 date/],
    ['an unknown key', 'rule_ids: [x]\nitem: []\n', /bad\.exceptions\.yml:1:1: /],
    ['YAML syntax', 'rule_ids: [x\n', /bad\.exceptions\.yml:\d+:\d+: YAML syntax error/],
  ];
  for (const [name, text, message] of bad) {
    test(`${name} is an error naming the file, item and field at its position`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lookout-exc-'));
      await writeFile(join(dir, 'bad.exceptions.yml'), text);
      const set = await loadRules([dir]);
      assert.equal(set.errors.length, 1, set.errors.map((e) => e.message).join('\n'));
      assert.match(set.errors[0].message, message);
    });
  }

  test('two files with one list_id are reported', async () => {
    const item = 'items:\n  - entries: [{ field: a, operator: included, type: exists }]\n';
    const { dir } = await folder({ 'one.exceptions.yml': `list_id: same\n${item}`, 'two.exceptions.yml': `list_id: same\n${item}` });
    const set = await loadRules([dir]);
    assert.match(set.errors.map((e) => e.message).join('\n'), /two\.exceptions\.yml: list_id same is already the list of .*one\.exceptions\.yml/);
  });

  test('a rule_id that names no rule is reported', async () => {
    const { dir } = await folder({ 'typo.exceptions.yml': 'rule_ids: [no-such-rule]\nitems:\n  - entries: [{ field: a, operator: included, type: exists }]\n' });
    const set = await loadRules([dir]);
    assert.match(set.errors.map((e) => e.message).join('\n'), /typo\.exceptions\.yml: rule_ids: no rule file under the rules folder has rule_id no-such-rule/);
  });

  test('a single rule file picks up the exceptions files beside it (test-rule)', async () => {
    const { dir } = await folder({ 'a.exceptions.yml': `rule_ids: [f00dcafe-0000-4000-8000-000000000001]\nitems:\n  - entries: [{ field: a, operator: included, type: exists }]\n` });
    const { readdir } = await import('node:fs/promises');
    const set = await loadRules([join(dir, (await readdir(dir)).find((f) => f.endsWith('.toml'))!)]);
    assert.deepEqual(set.errors.map((e) => e.message), []);
    assert.equal(set.rules[0].exceptions!.itemCount, 1);
  });
});
