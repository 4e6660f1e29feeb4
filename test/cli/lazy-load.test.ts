/**
 * Start-up: each command loads only the modules it uses (issue 16). A child process runs the CLI
 * with a module hook that records every module file it loads; `--help` and `validate` must not
 * load the Elasticsearch client, winston, prom-client or node-cron, which cost most of a
 * process's start when every command loaded them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO } from '../helpers/rules.js';

const HEAVY = ['@elastic/elasticsearch', '@elastic/transport', 'winston', 'prom-client', 'node-cron'];

/** The packages (and Lookout source folders) a `lookout <args>` process loads, and its exit status. */
async function loaded(args: string[]): Promise<{ code: number | null; stdout: string; packages: Set<string>; sources: Set<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-lazy-'));
  const log = join(dir, 'loaded.txt');
  await writeFile(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}
`);
  await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  await writeFile(log, '');
  const main = pathToFileURL(fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))).href;
  const entry = `const { main } = await import(${JSON.stringify(main)});
process.exitCode = await main(${JSON.stringify(args)}, { stdout: process.stdout, stderr: process.stderr, env: process.env });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(dir, 'register.mjs'), '--input-type=module', '-e', entry], {
    cwd: REPO, encoding: 'utf8', env: { ...process.env, LOOKOUT_RULES_DIR: 'rules' },
  });
  const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set(urls.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
  const sources = new Set(urls.map((u) => /\/src\/([^/]+)\//.exec(u)?.[1]).filter((s): s is string => s !== undefined));
  return { code: r.status, stdout: r.stdout, packages, sources };
}

describe('lookout start-up: each command loads what it uses', () => {
  test('validate loads the rule loaders (zod, yaml, smol-toml) and none of the Elasticsearch client, winston, prom-client, node-cron', async () => {
    const r = await loaded(['validate']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /2 valid, 0 skipped, 0 invalid/);
    for (const p of ['zod', 'yaml', 'smol-toml']) assert.ok(r.packages.has(p), `validate should load ${p}; loaded: ${[...r.packages].join(', ')}`);
    for (const p of HEAVY) assert.ok(!r.packages.has(p), `validate loaded ${p}`);
    for (const s of ['scheduler', 'alerts', 'ops', 'logging', 'state']) assert.ok(!r.sources.has(s), `validate loaded src/${s}`);
  });

  test('--help loads no dependency at all', async () => {
    const r = await loaded(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: lookout/);
    assert.deepEqual([...r.packages].filter((p) => p !== 'tsx'), []);
  });
});
