/**
 * The tests' clients collect the `warning` headers Elasticsearch sends (deprecations) and a test
 * file that received one fails at exit. Here a server of the test's own sends one, so the
 * collection is checked on every version, whether or not the real server deprecates anything.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { createClient } from '../../src/search/client.js';
import { takeWarnings, watchWarnings } from '../helpers/es.js';

describe('warning headers', () => {
  test('a warning the server sends is collected with the request that earned it', async () => {
    const warning = '299 Elasticsearch-9.1.0-00e7d33 "[ignore_throttled] parameter is deprecated"';
    const server = createServer((req, res) => {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' };
      if (req.url?.startsWith('/old')) headers.warning = warning;
      res.writeHead(200, headers);
      res.end(JSON.stringify({ _shards: { total: 1, successful: 1, failed: 0 } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const client = watchWarnings(createClient(loadConfig({ ELASTICSEARCH_URL: `http://127.0.0.1:${port}` }).elasticsearch));
    try {
      await client.indices.refresh({ index: 'new' });
      assert.deepEqual([...takeWarnings()], [], 'no header, nothing collected');
      await client.indices.refresh({ index: 'old' });
      assert.deepEqual([...takeWarnings()], [[warning, 'GET /old/_refresh']]);
    } finally {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
