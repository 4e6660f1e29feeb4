/**
 * Credentials never appear in logs, errors (printed or inspected) or execution records; TLS
 * verification is on for https unless a CA is given to verify against.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { checkCluster, createClient } from '../../src/search/client.js';
import { runCli } from '../helpers/cli.js';
import { esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { SHIPPED_RULE_FILE } from '../helpers/rules.js';

const PASSWORD = 'Tr0ub4dor-s3cret-pw';
const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';

function leaks(text: string): string[] {
  const found: string[] = [];
  for (const secret of [PASSWORD, Buffer.from(`lookout:${PASSWORD}`).toString('base64'), API_KEY]) if (text.includes(secret)) found.push(secret);
  return found;
}

describe('credentials stay secret', () => {
  let env: TestEnv;
  let rulesDir: string;
  before(async () => {
    env = await testEnv();
    rulesDir = await mkdtemp(join(tmpdir(), 'lookout-sec-'));
    await copyFile(SHIPPED_RULE_FILE, join(rulesDir, 'winrm.toml'));
  });
  after(async () => env?.close());

  test('a run with basic auth (the development server ignores it): nothing in logs or execution records', async () => {
    const r = await runCli(['run', '--once'], {
      ELASTICSEARCH_URL: esUrl(), ELASTICSEARCH_USERNAME: 'lookout', ELASTICSEARCH_PASSWORD: PASSWORD,
      LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex, LOOKOUT_LOG_LEVEL: 'debug',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
    await env.client.indices.refresh({ index: env.stateIndex });
    const records = await env.client.search({ index: env.stateIndex, size: 100 });
    assert.ok(records.hits.hits.length > 0);
    assert.deepEqual(leaks(JSON.stringify(records.hits.hits)), []);
  });

  test('errors, printed and inspected, hold no credential: URL credentials, basic auth, API key', async () => {
    for (const es of [
      { ELASTICSEARCH_URL: `http://lookout:${PASSWORD}@127.0.0.1:9` },
      { ELASTICSEARCH_URL: 'http://127.0.0.1:9', ELASTICSEARCH_USERNAME: 'lookout', ELASTICSEARCH_PASSWORD: PASSWORD },
      { ELASTICSEARCH_URL: 'http://127.0.0.1:9', ELASTICSEARCH_API_KEY: API_KEY },
    ]) {
      const config = loadConfig({ ...es, ELASTICSEARCH_REQUEST_TIMEOUT: '2s' });
      const client = createClient(config.elasticsearch);
      try {
        await assert.rejects(checkCluster(client, config.elasticsearch.url), (err: unknown) => {
          assert.deepEqual(leaks(String(err)), [], String(err));
          assert.deepEqual(leaks(inspect(err, { depth: 20 })), [], 'inspected error');
          assert.deepEqual(leaks(JSON.stringify(err)), []);
          return true;
        });
      } finally {
        await client.close();
      }
      const r = await runCli(['run', '--once'], { ...es, LOOKOUT_RULES_DIR: rulesDir, ELASTICSEARCH_REQUEST_TIMEOUT: '2s' });
      assert.equal(r.code, 1);
      assert.deepEqual(leaks(r.stdout + r.stderr), []);
    }
  });

  test('invalid configuration never echoes a secret', async () => {
    const r = await runCli(['run', '--once'], { ELASTICSEARCH_URL: 'not a url', ELASTICSEARCH_PASSWORD: PASSWORD });
    assert.equal(r.code, 1);
    assert.deepEqual(leaks(r.stderr), []);
  });
});
