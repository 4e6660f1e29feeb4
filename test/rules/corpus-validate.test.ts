/**
 * `lookout validate` over Elastic's detection-rules corpus (../shared/corpus, read at test time:
 * rules/ and rules_building_block/, which the loader walks with their _deprecated/ folders): no
 * rule is invalid, and no live rule (outside _deprecated/) is skipped except machine-learning rules
 * and ES|QL rules Lookout cannot run (issue 14). Disabled rules count as valid (`ok (disabled)`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const ROOT = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;
/** The only skips allowed: machine-learning rules, and ES|QL queries Lookout cannot run (COMPLETION). */
const ALLOWED_SKIP = /: (rule type 'machine_learning'|ES\|QL: not supported: )/;

test('validate on the corpus: 0 invalid, no live rule skipped but machine_learning and ES|QL', { timeout: 600_000 }, async () => {
  const folders = [join(ROOT, 'rules'), join(ROOT, 'rules_building_block')];
  for (const f of folders) assert.ok(existsSync(f), `the detection-rules corpus is missing: ${f}`);
  const r = await runCli(['validate', ...folders]);
  const lines = r.stdout.trimEnd().split('\n');
  const summary = /^(\d+) valid, (\d+) skipped, (\d+) invalid; (\d+) of the valid disabled \(not run\)$/.exec(lines[lines.length - 1]);
  assert.ok(summary, `no summary line: ${lines[lines.length - 1]}`);
  assert.equal(lines.filter((l) => l.startsWith('error ')).join('\n'), '');
  assert.equal(summary[3], '0');
  assert.equal(r.code, 0);
  const skipped = lines.filter((l) => l.startsWith('skipped ') && !l.includes('/_deprecated/'));
  assert.deepEqual(skipped.filter((l) => !ALLOWED_SKIP.test(l)), []);
  // The figures the README gives (machine_learning 106, COMPLETION 7); threat_match rules run.
  assert.equal(skipped.filter((l) => l.includes("rule type 'machine_learning'")).length, 106);
  assert.equal(skipped.filter((l) => l.includes('ES|QL: not supported: COMPLETION')).length, 7);
  assert.ok(Number(summary[1]) > 1000, `only ${summary[1]} valid rules`);
  assert.equal(lines.filter((l) => l.startsWith('ok (disabled) ')).length, Number(summary[4]));
});
