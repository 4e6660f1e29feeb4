/**
 * Installs an index template and creates its index when missing (a concurrent create is fine).
 * An index made by an earlier version gets the fields the template added since (a field it
 * already maps otherwise is left as it is: that conflict costs nothing, see alerts/fit.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { errorMessage, SearchError } from '../errors.js';
import { errorTypeOf, statusOf } from './client.js';

export async function ensureIndex(client: Client, templateName: string, index: string, template: Record<string, unknown>, what: string): Promise<void> {
  try {
    await client.indices.putIndexTemplate({ name: templateName, index_patterns: [index], priority: 500, ...template } as never);
    if (!(await client.indices.exists({ index }))) {
      await client.indices.create({ index }).catch((err) => {
        if (errorTypeOf(err) !== 'resource_already_exists_exception') throw err;
      });
    } else {
      const properties = (template as { template?: { mappings?: { properties?: unknown } } }).template?.mappings?.properties;
      if (properties) await client.indices.putMapping({ index, properties: properties as never }).catch(() => undefined);
    }
  } catch (err) {
    throw new SearchError(`cannot install ${what} ${index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
  }
}

/**
 * Deletes the indices that names and wildcard patterns match (hidden ones too). Since 8.0
 * `action.destructive_requires_name` defaults to true, so a delete request may not hold a
 * wildcard: the patterns are resolved first and the indices deleted by name.
 */
export async function deleteIndices(client: Client, patterns: readonly string[]): Promise<void> {
  const found = await client.indices.get({ index: patterns.join(','), expand_wildcards: 'all', ignore_unavailable: true, allow_no_indices: true } as never);
  const names = Object.keys(found);
  if (names.length > 0) await client.indices.delete({ index: names.join(','), ignore_unavailable: true });
}
