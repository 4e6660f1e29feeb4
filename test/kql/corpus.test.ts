/**
 * Every KQL query of the live rules in Elastic's detection-rules corpus parses, compiles and
 * translates: `query`, `new_terms` and `threshold` rules with `language = "kuery"` under
 * rules/ and rules_building_block/, outside _deprecated (../shared/corpus/README.md). The corpus
 * is read where it lies, never copied; when it is missing the test fails and names the path.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { compileKql } from '../../src/kql/compile.js';

const CORPUS = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;

async function tomlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === '_deprecated') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tomlFiles(full)));
    else if (e.name.endsWith('.toml')) out.push(full);
  }
  return out;
}

/** The line of the file on which the query text starts. */
function queryLine(text: string): number {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^query\s*=/.test(l));
  if (at < 0) return 1;
  return /^query\s*=\s*('''|""")\s*$/.test(lines[at]) ? at + 2 : at + 1;
}

test('every KQL query of the corpus\'s live query, new_terms and threshold rules parses and translates', async () => {
  for (const dir of ['rules', 'rules_building_block']) {
    assert.ok(existsSync(join(CORPUS, dir)), `the detection-rules corpus is missing: ${join(CORPUS, dir)} (see ../shared/corpus/README.md)`);
  }
  const files = (await Promise.all(['rules', 'rules_building_block'].map((d) => tomlFiles(join(CORPUS, d))))).flat().sort();
  const byType = new Map<string, number>();
  const failures: string[] = [];
  let parsed = 0;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const rule = (parseToml(text) as { rule?: { type?: string; language?: string; query?: string } }).rule;
    if (!rule || rule.language !== 'kuery' || !['query', 'new_terms', 'threshold'].includes(rule.type ?? '')) continue;
    byType.set(rule.type as string, (byType.get(rule.type as string) ?? 0) + 1);
    const name = file.slice(CORPUS.length);
    try {
      assert.equal(typeof rule.query, 'string', `${name}: no query`);
      const compiled = compileKql(rule.query as string, { file: name, line: queryLine(text) });
      compiled.toDsl(new Map());
      compiled.matcher().matches({});
      parsed++;
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  const total = [...byType.values()].reduce((a, b) => a + b, 0);
  // The corpus README counts 453 query, 240 new_terms and 28 threshold rules written in KQL or
  // other languages; those in KQL are the ones checked here.
  assert.ok(total > 600, `only ${total} KQL rules found under ${CORPUS}: ${JSON.stringify(Object.fromEntries(byType))}`);
  assert.deepEqual(failures, [], `${failures.length} of ${total} KQL queries failed`);
  assert.equal(parsed, total);
  console.log(`KQL corpus: ${parsed} of ${total} queries parse (${JSON.stringify(Object.fromEntries(byType))})`);
});
