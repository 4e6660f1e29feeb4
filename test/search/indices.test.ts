/**
 * Deleting by pattern on the real server: 8.x and 9.x refuse a wildcard in a delete request
 * (action.destructive_requires_name), so the patterns are resolved to names first.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deleteIndices } from '../../src/search/indices.js';
import { testClient, uniqueName } from '../helpers/es.js';

describe('deleting indices by pattern', () => {
  test('every index a pattern matches is deleted, hidden ones too; a pattern matching nothing is fine', async () => {
    const client = testClient();
    const prefix = uniqueName('del');
    try {
      await client.indices.create({ index: `${prefix}-a` });
      await client.indices.create({ index: `${prefix}-b`, settings: { 'index.hidden': true } } as never);
      await deleteIndices(client, [`${prefix}-*`, `${prefix}-nothing-*`]);
      assert.equal(await client.indices.exists({ index: `${prefix}-a` }), false);
      assert.equal(await client.indices.exists({ index: `${prefix}-b` }), false);
      await deleteIndices(client, [`${prefix}-*`]);
    } finally {
      await client.close();
    }
  });
});
