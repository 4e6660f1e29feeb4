/**
 * Start-up messages that say what to change: a metrics port out of range, a metrics port in
 * use, an https:// URL against a plain HTTP server, a server that does not answer in time. Each
 * names the variable to check and carries no stack trace.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { ConfigError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { SHIPPED_RULE_FILE } from '../helpers/rules.js';

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'no stack trace');

describe('start-up messages', () => {
  let env: TestEnv;
  let rulesDir: string;
  before(async () => {
    env = await testEnv();
    rulesDir = await mkdtemp(join(tmpdir(), 'lookout-startup-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
  });
  after(async () => env?.close());

  test('LOOKOUT_METRICS_PORT outside 0-65535 is refused at validation, naming the variable', () => {
    for (const port of ['65536', '70000', '-1', 'http']) {
      assert.throws(() => loadConfig({ LOOKOUT_METRICS_PORT: port }), (err: unknown) => err instanceof ConfigError && /LOOKOUT_METRICS_PORT: .*0 to 65535/.test(err.message), port);
    }
    assert.equal(loadConfig({ LOOKOUT_METRICS_PORT: '65535' }).metrics.port, 65535);
    assert.equal(loadConfig({ LOOKOUT_METRICS_PORT: '0' }).metrics.port, 0);
  });

  test('a metrics port in use says which variable to change, without a stack trace', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['run'], {
        ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex,
        LOOKOUT_METRICS_PORT: String(port), LOOKOUT_INSTANCE_ID: 'startup-test',
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${port} .*in use.*LOOKOUT_METRICS_PORT`));
      noStack(r.stderr);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  test('an https:// URL against a plain HTTP server names ELASTICSEARCH_URL', async () => {
    const r = await runCli(['status'], { ELASTICSEARCH_URL: esUrl().replace(/^http:/, 'https:'), LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not speak TLS.*ELASTICSEARCH_URL.*http:\/\//);
    noStack(r.stderr);
  });

  test('a server that does not answer in time names ELASTICSEARCH_REQUEST_TIMEOUT and ELASTICSEARCH_URL', async () => {
    // Accepts connections and never answers.
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await runCli(['status'], { ELASTICSEARCH_URL: `http://127.0.0.1:${port}`, ELASTICSEARCH_REQUEST_TIMEOUT: '300ms', LOOKOUT_RULES_DIR: rulesDir });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no answer within 300 ms.*ELASTICSEARCH_REQUEST_TIMEOUT.*ELASTICSEARCH_URL/);
      noStack(r.stderr);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
