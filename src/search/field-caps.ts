/** Field types across a set of indices, from `_field_caps`, for choosing safe pushdowns. */
import type { Client } from '@elastic/elasticsearch';

/** For each field: the set of types it has in the indices that map it. Unmapped fields are absent. */
export type FieldTypes = ReadonlyMap<string, ReadonlySet<string>>;

/** Parent paths of a field (`winlog`, `winlog.event_data` for `winlog.event_data.Image`). */
function ancestors(field: string): string[] {
  const parts = field.split('.');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
}

/**
 * Whether a field may hold values in the target indices: some index maps it, or one of its
 * parents is a `flattened` field (whose keys `_field_caps` does not list).
 */
export function mayHave(types: FieldTypes, field: string): boolean {
  return types.has(field) || ancestors(field).some((a) => types.get(a)?.has('flattened') ?? false);
}

export async function fetchFieldTypes(client: Client, indices: readonly string[], fields: readonly string[]): Promise<FieldTypes> {
  const out = new Map<string, Set<string>>();
  if (fields.length === 0) return out;
  // Parents too, to see a flattened parent (see mayHave).
  fields = [...new Set([...fields, ...fields.flatMap(ancestors)])];
  const res = await client.fieldCaps({
    index: indices.join(','),
    ignore_unavailable: true,
    allow_no_indices: true,
    // In the query string: 7.17 does not accept `fields` in the body, where the client puts it.
    querystring: { fields: fields.join(',') },
  } as never);
  for (const [name, byType] of Object.entries(res.fields ?? {})) {
    const types = new Set(Object.keys(byType).filter((t) => t !== 'unmapped'));
    // A field that some indices do not map may still sit in their _source: no pushdown on it.
    if (Object.keys(byType).includes('unmapped')) types.add('unmapped');
    out.set(name, types);
  }
  return out;
}
