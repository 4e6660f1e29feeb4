/**
 * The names an event's index answers to. A search over `winlogbeat-*` returns hits whose
 * `_index` is the concrete index: for a data stream its backing index
 * (`.ds-winlogbeat-8.15.0-2026.11.26-000001`), for an alias the index behind it. A rule that
 * routes events by index patterns must test those patterns against every name the index has
 * (itself, its aliases, its data stream), as Elasticsearch did when it resolved the search.
 *
 * The names are resolved once per read with `_resolve/index` over the rule's patterns; a
 * backing index is recognised by its name too (`.ds-<stream>-<yyyy.mm.dd>-<generation>`, and
 * the 7.9-7.10 form without the date), so events read from a file (`lookout test-rule`) or
 * from a cluster that cannot resolve route the same way.
 */
import type { Client } from '@elastic/elasticsearch';

/** Every name an index answers to, itself first. */
export type IndexNames = (index: string) => readonly string[];

const BACKING = /^\.ds-(.+?)(?:-\d{4}\.\d{2}\.\d{2})?-\d{6}$/;

/** The data stream a backing index belongs to, from its name. */
export function dataStreamOf(index: string): string | undefined {
  return BACKING.exec(index)?.[1];
}

/** Names known from the index name alone (the index, and its data stream if it is a backing index). */
export const namesFromIndex: IndexNames = (index) => {
  const stream = dataStreamOf(index);
  return stream ? [index, stream] : [index];
};

interface Resolved {
  indices?: { name: string; aliases?: string[]; data_stream?: string }[];
  aliases?: { name: string; indices?: string[] }[];
  data_streams?: { name: string; backing_indices?: string[] }[];
}

/** Names from a `_resolve/index` answer, plus what the names themselves say. */
export function namesFromResolved(res: Resolved): IndexNames {
  const names = new Map<string, Set<string>>();
  const add = (index: string, name: string) => {
    let s = names.get(index);
    if (!s) names.set(index, (s = new Set(namesFromIndex(index))));
    s.add(name);
  };
  for (const i of res.indices ?? []) {
    add(i.name, i.name);
    for (const a of i.aliases ?? []) add(i.name, a);
    if (i.data_stream) add(i.name, i.data_stream);
  }
  for (const a of res.aliases ?? []) for (const i of a.indices ?? []) add(i, a.name);
  for (const d of res.data_streams ?? []) for (const i of d.backing_indices ?? []) add(i, d.name);
  const frozen = new Map([...names].map(([k, v]) => [k, Object.freeze([...v])]));
  return (index) => frozen.get(index) ?? namesFromIndex(index);
}

/**
 * Resolves the patterns on the cluster. A cluster that refuses (an old version, no privilege
 * for `_resolve/index`) leaves the names the index names themselves give; the reason is
 * returned so the caller can log it.
 */
export async function resolveIndexNames(client: Client, patterns: readonly string[]): Promise<{ names: IndexNames; error?: string }> {
  try {
    const res = await client.indices.resolveIndex({ name: patterns.join(','), expand_wildcards: 'open' } as never);
    return { names: namesFromResolved(res as Resolved) };
  } catch (err) {
    return { names: namesFromIndex, error: err instanceof Error ? err.message : String(err) };
  }
}
