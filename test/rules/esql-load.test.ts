import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { RuleLoadError } from '../../src/errors.js';
import { loadElasticToml } from '../../src/rules/elastic-toml.js';
import { loadKibanaNdjson } from '../../src/rules/kibana-ndjson.js';

function toml(query: string, extra = ''): string {
  return `[metadata]
creation_date = "2025/01/01"
maturity = "production"
updated_date = "2025/01/01"

[rule]
author = ["Lookout"]
description = "An ES|QL rule."
from = "now-6m"
language = "esql"
license = "Elastic License v2"
name = "ES|QL test"
risk_score = 21
rule_id = "esql-test"
severity = "low"
type = "esql"
${extra}
query = '''
${query}
'''
`;
}

describe('ES|QL rules load through the registry', () => {
  test('the indices come from FROM; the query compiles as a streamed ES|QL query', () => {
    const out = loadElasticToml('r.toml', toml('FROM logs-*, winlogbeat-* METADATA _id, _index\n| WHERE process.name == "cmd.exe"'));
    assert.ok('rule' in out);
    assert.deepEqual(out.rule.indices, ['logs-*', 'winlogbeat-*']);
    assert.equal(out.rule.type, 'esql');
    assert.equal(out.rule.language, 'esql');
    assert.equal(out.rule.compiled.plan, 'streamed');
    assert.equal(out.rule.compiled.kind, 'event');
  });

  test('a STATS query is an aggregating one', () => {
    const out = loadElasticToml('r.toml', toml('FROM logs-*\n| STATS n = COUNT(*) BY host.name'));
    assert.ok('rule' in out);
    assert.equal(out.rule.compiled.kind, 'aggregating');
  });

  test('missing-field warnings name source fields, not the columns the query makes', () => {
    const out = loadElasticToml('r.toml', toml('FROM logs-*\n| EVAL age = DATE_DIFF("minute", @timestamp, NOW())\n| WHERE age < 5 AND process.name == "a"\n| GROK message "%{WORD:w}"\n| WHERE w == "x"\n| STATS c = COUNT(*) BY host.name\n| WHERE c > 1'));
    assert.ok('rule' in out);
    assert.deepEqual([...out.rule.compiled.namedFields.keys()], ['@timestamp', 'host.name', 'message', 'process.name']);
  });

  test('an index given by the rule wins over FROM', () => {
    const out = loadElasticToml('r.toml', toml('FROM logs-*', 'index = ["other-*"]'));
    assert.ok('rule' in out);
    assert.deepEqual(out.rule.indices, ['other-*']);
  });

  test('a syntax error is a load error at its line and column in the file', () => {
    // The query starts on line 19 of the file; the error is on its second line, at the second `==` (column 14).
    assert.throws(() => loadElasticToml('r.toml', toml('FROM logs-*\n| WHERE a == == 1')), (err: unknown) => {
      assert.ok(err instanceof RuleLoadError, String(err));
      assert.match(err.message, /ES\|QL syntax error/);
      assert.equal(err.location?.file, 'r.toml');
      assert.equal(err.location?.line, 20);
      assert.equal(err.location?.column, 14);
      return true;
    });
  });

  test('a query calling COMPLETION is skipped with the reason and its place in the query', () => {
    const out = loadElasticToml('r.toml', toml('FROM logs-*\n| EVAL x = "a"\n| COMPLETION y = x WITH { "inference_id": "m" }'));
    assert.ok('skipped' in out, JSON.stringify(out));
    assert.equal(out.skipped.reason, 'ES|QL: not supported: COMPLETION (query 3:3)');
  });

  test('a rule of a Kibana NDJSON export (no index field) loads with the FROM indices', async () => {
    const text = await readFile(new URL('../fixtures/esql/kibana-export.ndjson', import.meta.url), 'utf8');
    const out = loadKibanaNdjson('export.ndjson', text);
    assert.equal(out.length, 1);
    const first = out[0];
    assert.ok('rule' in first, JSON.stringify(first));
    assert.deepEqual(first.rule.indices, ['logs-esql-*']);
    assert.equal(first.rule.compiled.kind, 'aggregating');
  });
});
