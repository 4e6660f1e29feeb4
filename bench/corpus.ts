/**
 * Rules from Elastic's prebuilt corpus (../shared/corpus, never copied into the project) for the
 * benchmarks: live EQL rules over endpoint and Windows indices, spread evenly by path.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRules } from '../src/rules/load.js';
import type { Rule } from '../src/rules/model.js';

export async function corpusRules(corpus: string, count: number, options: { windowsOnly?: boolean } = {}): Promise<Rule[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory() && e.name !== '_deprecated') await walk(full);
      else if (e.name.endsWith('.toml')) {
        const text = await readFile(full, 'utf8');
        if (!/^type = "eql"/m.test(text) || !/"(logs-endpoint\.events\.[a-z*]+|winlogbeat-\*|logs-windows\.[a-z*]+)"/.test(text)) continue;
        if (options.windowsOnly && !/host\.os\.type\s*==\s*"windows"/.test(text)) continue;
        files.push(full);
      }
    }
  };
  await walk(join(corpus, 'rules'));
  files.sort();
  const rules: Rule[] = [];
  const stride = Math.max(1, Math.floor(files.length / count));
  for (let i = 0; i < files.length && rules.length < count; i += stride) {
    const set = await loadRules([files[i]]);
    rules.push(...set.rules.slice(0, 1));
  }
  return rules;
}
