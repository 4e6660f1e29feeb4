/**
 * `lookout test-rule --table` on an ES|QL rule: the result table of Elasticsearch's documented
 * STATS ... BY example over its `employees` test data (fixtures/esql/README.md), and `validate`
 * listing a COMPLETION rule as skipped with the reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const fixture = (name: string) => new URL(`../fixtures/esql/${name}`, import.meta.url).pathname;

describe('ES|QL rules in the CLI', () => {
  test('--table prints the documented result of FROM employees | STATS count = COUNT(emp_no) BY languages | SORT languages', async () => {
    const r = await runCli(['test-rule', fixture('docs-stats-by-languages.toml'), '--events', fixture('employees.ndjson'), '--mapping', fixture('employees-mapping.json'), '--table']);
    assert.equal(r.code, 0, r.stderr);
    // As documented (docs: commands/stats-by; stats.csv-spec docsStats).
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      'count:long | languages:integer',
      '15 | 1',
      '19 | 2',
      '17 | 3',
      '18 | 4',
      '21 | 5',
      '10 | null',
    ]);
    assert.match(r.stderr, /100 event\(s\), 6 row\(s\), 6 group\(s\)/);
  });

  test('without --table an ES|QL rule prints an alert per row, carrying the row', async () => {
    const r = await runCli(['test-rule', fixture('docs-stats-by-languages.toml'), '--events', fixture('employees.ndjson'), '--mapping', fixture('employees-mapping.json')]);
    assert.equal(r.code, 0, r.stderr);
    const alerts = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)._source);
    assert.deepEqual(alerts.map((a) => [a.count, a.languages]), [[15, 1], [19, 2], [17, 3], [18, 4], [21, 5], [10, null]]);
    assert.ok(alerts.every((a) => a['kibana.alert.rule.type'] === 'esql'));
  });

  test('alert_suppression folds the rows of an ES|QL rule by their group, as for other rule types', async () => {
    const r = await runCli(['test-rule', fixture('suppressed-rule.toml'), '--events', fixture('employees.ndjson'), '--mapping', fixture('employees-mapping.json')]);
    assert.equal(r.code, 0, r.stderr);
    // Lines without a 5 are passed over unparsed (the line test asks for the digits of `languages == 5`).
    assert.match(r.stderr, /35 event\(s\), 21 match\(es\), 1 alert\(s\); 65 line\(s\) passed over unparsed/);
    const alerts = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)._source);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0]['kibana.alert.suppression.terms'], [{ field: 'languages', value: 5 }]);
    assert.equal(alerts[0]['kibana.alert.suppression.docs_count'], 20);
  });

  test('--table refuses a rule that is not ES|QL', async () => {
    const r = await runCli(['test-rule', fixture('../../../rules/windows/lateral_movement_incoming_winrm_shell_execution.toml'), '--events', fixture('employees.ndjson'), '--table']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /only ES\|QL rules have a result table/);
  });

  test('validate lists a rule calling COMPLETION as skipped, with the reason', async () => {
    const r = await runCli(['validate', fixture('completion-rule.toml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /skipped\s+\S+completion-rule\.toml: ES\|QL: not supported: COMPLETION \(query 4:3\)/);
    assert.match(r.stdout, /0 valid, 1 skipped, 0 invalid/);
  });

  test('numbers ask for no digits on a field whose mapping gives a null_value or a type other than a number', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-esql-'));
    const mapping = JSON.parse(await readFile(fixture('employees-mapping.json'), 'utf8'));
    for (const [name, languages] of [['null-value', { type: 'integer', null_value: 5 }], ['keyword', { type: 'keyword' }]] as const) {
      mapping.mappings.properties.languages = languages;
      const file = join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(mapping));
      const r = await runCli(['test-rule', fixture('suppressed-rule.toml'), '--events', fixture('employees.ndjson'), '--mapping', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /100 event\(s\)/, name);
      assert.doesNotMatch(r.stderr, /passed over/, name);
    }
  });
});
