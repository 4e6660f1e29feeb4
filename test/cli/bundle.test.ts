/**
 * The `lookout` command runs the esbuild bundle (dist/bundle/, made by `npm run build`, issue 16):
 * a child process runs bin/lookout.js with a module hook that records every module file it
 * loads. The bundle holds the dependencies, so a command reads its few chunks and no file of
 * node_modules or of tsc's dist/; paths read relative to a module (the Sigma pipelines and
 * mappings under mappings/) still resolve; and the commands' imports stay lazy (`--help` loads
 * none of the rule loaders' chunk).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/rules.js';

const BUNDLE = join(REPO, 'dist/bundle/main.js');
const SIGMA_RULE = join(REPO, 'rules/sigma/win_security_winrm_listening_service_reconnaissance.yml');

let dir = '';

/** `node bin/lookout.js <args>`: exit status, output, and the module files it loaded (relative to the repository). */
async function lookout(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; files: string[] }> {
  const log = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(log, '');
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), join(REPO, 'bin/lookout.js'), ...args], {
    cwd: REPO, encoding: 'utf8', env: { ...process.env, LOOKOUT_LOADED_LOG: log, LOOKOUT_LOG_FORMAT: 'json' },
  });
  const files = (await readFile(log, 'utf8')).split('\n').filter(Boolean)
    .map((u) => u.replace(pathToFileURL(REPO).href, '')).filter((f) => f !== 'bin/lookout.js');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, files };
}

describe('bin/lookout.js runs the bundle', () => {
  before(async () => {
    assert.ok(existsSync(BUNDLE), 'dist/bundle/main.js is missing: run `npm run build` (tsc, then scripts/bundle.mjs)');
    assert.ok(statSync(BUNDLE).mtimeMs >= statSync(join(REPO, 'dist/cli/main.js')).mtimeMs,
      'dist/bundle/ is older than tsc\'s dist/ (bin/lookout.js would run dist/cli/main.js): run `npm run build`');
    dir = await mkdtemp(join(tmpdir(), 'lookout-bundle-'));
    await writeFile(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.LOOKOUT_LOADED_LOG, url + '\\n');
  return next(url, context);
}
`);
    await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  });

  test('validate of the shipped rules: only chunks of dist/bundle/, no file of node_modules or of tsc\'s dist/', async () => {
    const r = await lookout(['validate', 'rules']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 valid, 0 skipped, 0 invalid/);
    assert.ok(r.files.length > 1, `loaded: ${r.files.join(', ')}`);
    for (const f of r.files) assert.match(f, /^dist\/bundle\/[\w-]+\.js$/, `validate loaded ${f}`);
  });

  test('--help loads the entry and a few shared chunks, not the rule loaders\' chunk validate loads', async () => {
    const help = await lookout(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: lookout/);
    const validate = new Set((await lookout(['validate', 'rules'])).files);
    assert.equal(help.files[0], 'dist/bundle/main.js');
    for (const f of help.files) assert.ok(validate.has(f), `--help loaded ${f}, which validate does not`);
    const loaders = [...validate].filter((f) => /^dist\/bundle\/load-\w+\.js$/.test(f));
    assert.equal(loaders.length, 1, `validate loaded ${[...validate].join(', ')}`);
    assert.ok(!help.files.includes(loaders[0]), `--help loaded ${loaders[0]}`);
  });

  test('test-rule of the Sigma count rule: the pipelines under mappings/ resolve from the bundle', async () => {
    const events = join(dir, 'events.ndjson');
    await writeFile(events, Array.from({ length: 31 }, (_, i) => JSON.stringify({
      _index: 'winlogbeat-2026.11.25', _id: `e${i}`,
      _source: {
        '@timestamp': new Date(Date.UTC(2026, 10, 25, 10, 0, i * 10)).toISOString(),
        winlog: { channel: 'Security', event_id: 4688, computer_name: `WS${i}`, event_data: { NewProcessName: 'C:\\Windows\\System32\\wsmprovhost.exe', TargetUserName: 'alice' } },
      },
    })).join('\n'));
    const r = await lookout(['test-rule', SIGMA_RULE, '--events', events]);
    assert.equal(r.code, 0, r.stderr);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]._source.lookout.correlation.value, 31);
    for (const f of r.files) assert.match(f, /^dist\/bundle\/[\w-]+\.js$/, `test-rule loaded ${f}`);
  });
});
