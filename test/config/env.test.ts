import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, withDotEnv } from '../../src/config/env.js';
import { ConfigError } from '../../src/errors.js';

describe('configuration', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.elasticsearch.url, 'http://127.0.0.1:9200');
    assert.equal(c.rulesDir, 'rules');
    assert.equal(c.alertsIndex, 'lookout-alerts-default');
    assert.equal(c.pageSize, 5000);
    assert.equal(c.maxCatchupMs, 3_600_000);
  });

  test('each bad variable is named with the expected form', () => {
    assert.throws(
      () => loadConfig({ ELASTICSEARCH_URL: 'localhost:9200', LOOKOUT_PAGE_SIZE: 'lots', LOOKOUT_LOG_LEVEL: 'loud', LOOKOUT_MAX_CATCHUP: '1 week' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /ELASTICSEARCH_URL: expected an http:\/\/ or https:\/\/ URL/);
        assert.match(err.message, /LOOKOUT_PAGE_SIZE: expected a whole number from 1 to 10000, found "lots"/);
        assert.match(err.message, /LOOKOUT_LOG_LEVEL: /);
        assert.match(err.message, /LOOKOUT_MAX_CATCHUP: expected a duration like 1h/);
        return true;
      },
    );
  });

  test('user and password go together; a secret is never echoed', () => {
    assert.throws(() => loadConfig({ ELASTICSEARCH_USERNAME: 'elastic' }), /ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD must be set together/);
    assert.throws(() => loadConfig({ ELASTICSEARCH_CA_FINGERPRINT: 'nope', ELASTICSEARCH_PASSWORD: 'hunter2', ELASTICSEARCH_USERNAME: 'u' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });

  test('.env fills in what the environment does not set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-env-'));
    const file = join(dir, '.env');
    await writeFile(file, 'LOOKOUT_ALERTS_INDEX=from-dotenv\nLOOKOUT_RULES_DIR=/rules\n');
    const c = loadConfig(withDotEnv({ LOOKOUT_RULES_DIR: '/from-env' }, file));
    assert.equal(c.alertsIndex, 'from-dotenv');
    assert.equal(c.rulesDir, '/from-env');
  });

  test('.env.example lists every variable the configuration reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const source = await readFile(new URL('../../src/config/env.ts', import.meta.url), 'utf8');
    const vars = [...source.matchAll(/^\s{2}((?:ELASTICSEARCH|LOOKOUT)_[A-Z_]+):/gm)].map((m) => m[1]);
    assert.ok(vars.length >= 10);
    for (const v of vars) assert.match(example, new RegExp(`^#?\\s*${v}=`, 'm'), `${v} missing from .env.example`);
  });
});
