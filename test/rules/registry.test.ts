import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { loadElasticToml } from '../../src/rules/elastic-toml.js';
import { DEFAULT_REGISTRY, EQL_ENTRY, KQL_QUERY_ENTRY, QueryRegistry, type QueryEntry } from '../../src/rules/registry.js';
import { SHIPPED_RULE_FILE } from '../helpers/rules.js';

const KUERY_QUERY: QueryEntry = KQL_QUERY_ENTRY;

describe('rule type and language registry', () => {
  const cases: readonly { name: string; entries: readonly QueryEntry[]; type: string; language: string | undefined; want: string }[] = [
    { name: 'eql with language eql', entries: [EQL_ENTRY], type: 'eql', language: 'eql', want: 'entry eql/eql' },
    { name: 'eql without a language takes Kibana\'s default', entries: [EQL_ENTRY], type: 'eql', language: undefined, want: 'entry eql/eql' },
    { name: 'eql with another language is an error', entries: [EQL_ENTRY], type: 'eql', language: 'kuery', want: "error rule.language: type 'eql' needs language 'eql', found 'kuery'" },
    { name: 'a type nobody registered is skipped', entries: [EQL_ENTRY], type: 'threshold', language: 'kuery', want: "skipped rule type 'threshold' is not run by Lookout yet" },
    { name: 'an unknown type is skipped', entries: [EQL_ENTRY], type: 'machine_learning', language: undefined, want: "skipped rule type 'machine_learning' is not run by Lookout yet" },
    { name: 'a registered type, default language', entries: [EQL_ENTRY, KUERY_QUERY], type: 'query', language: undefined, want: 'entry query/kuery' },
    { name: 'a registered type, a language nobody registered', entries: [EQL_ENTRY, KUERY_QUERY], type: 'query', language: 'lucene', want: "skipped rule type 'query' with language 'lucene' is not run by Lookout yet" },
    { name: 'a registered type, a language it cannot have', entries: [EQL_ENTRY, KUERY_QUERY], type: 'query', language: 'eql', want: "error rule.language: type 'query' needs language 'kuery' or 'lucene', found 'eql'" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const found = new QueryRegistry(c.entries).lookup(c.type, c.language);
      const got = 'entry' in found ? `entry ${found.entry.type}/${found.language}` : 'skipped' in found ? `skipped ${found.skipped}` : `error ${found.error}`;
      assert.equal(got, c.want);
    });
  }

  test('the default registry runs query rules in KQL (Kibana\'s default language for them), not in Lucene', () => {
    const kuery = DEFAULT_REGISTRY.lookup('query', undefined);
    assert.ok('entry' in kuery && kuery.language === 'kuery' && kuery.entry === KQL_QUERY_ENTRY);
    assert.deepEqual(DEFAULT_REGISTRY.lookup('query', 'lucene'), { skipped: "rule type 'query' with language 'lucene' is not run by Lookout yet" });
  });

  test('registering a pair twice is refused', () => {
    assert.throws(() => new QueryRegistry([EQL_ENTRY, EQL_ENTRY]), /rule type 'eql' with language 'eql' is registered twice/);
  });

  test('a loaded rule keeps its type and language apart', async () => {
    const out = loadElasticToml(SHIPPED_RULE_FILE, await readFile(SHIPPED_RULE_FILE, 'utf8'));
    assert.ok('rule' in out);
    assert.equal(out.rule.type, 'eql');
    assert.equal(out.rule.language, 'eql');
    assert.equal(out.rule.compiled.language, 'eql');
  });
});
