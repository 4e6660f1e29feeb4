/** Rules written as files from a query and loaded the way Lookout loads them, for tests. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { SHIPPED_RULE_FILE } from './rules.js';

export interface RuleFileOptions {
  readonly ruleId: string;
  readonly query: string;
  readonly indices: readonly string[];
  /** `from` of the rule, e.g. now-5s. */
  readonly from?: string;
  readonly interval?: string;
}

/** The shipped rule's file with another id, query, indices and schedule, loaded. */
export async function ruleFromQuery(options: RuleFileOptions): Promise<Rule> {
  const file = await writeRuleFile(options);
  const set = await loadRules([file]);
  assert.equal(set.errors.length, 0, set.errors.map((e) => e.message).join('\n'));
  assert.equal(set.rules.length, 1, set.skipped.map((s) => s.reason).join('\n'));
  return set.rules[0];
}

/** Writes the rule file (alone in a new folder, for LOOKOUT_RULES_DIR); returns its path. */
export async function writeRuleFile(options: RuleFileOptions): Promise<string> {
  let text = (await readFile(SHIPPED_RULE_FILE, 'utf8'))
    .replace(/^rule_id = .*$/m, `rule_id = "${options.ruleId}"`)
    .replace(/^query = '''[\s\S]*?'''$/m, `query = '''\n${options.query}\n'''`)
    .replace(/^index = \[[\s\S]*?\]$/m, `index = [${options.indices.map((i) => JSON.stringify(i)).join(', ')}]`);
  if (options.from) text = text.replace(/^from = .*$/m, `from = "${options.from}"`);
  if (options.interval) text = text.replace(/^interval = .*$/m, `interval = "${options.interval}"`);
  const dir = await mkdtemp(join(tmpdir(), 'lookout-rule-'));
  const file = join(dir, `${options.ruleId}.toml`);
  await writeFile(file, text);
  return file;
}
