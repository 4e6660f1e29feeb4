/**
 * A match as the engine found it, for `lookout test-rule --raw`: the events of each stage in
 * order, with null in the place of a missing event (`![...]`, what Elasticsearch shows as a
 * placeholder), and the join keys. A user can check it against the event ids Elasticsearch
 * returns for the same query.
 */
import { asEql } from '../eql/compile.js';
import type { CompiledQuery } from '../rules/language.js';
import type { EventRecord, RuleMatch } from './events.js';

export interface RawResult {
  readonly events: readonly (EventRecord | null)[];
  readonly joinKeys: RuleMatch['joinKeys'];
}

export function rawResult(compiled: CompiledQuery, match: RuleMatch): RawResult {
  const query = asEql(compiled);
  if (query === null || query.kind !== 'sequence' || !query.stages.some((s) => s.missing)) return { events: match.events, joinKeys: match.joinKeys };
  const events: (EventRecord | null)[] = [];
  let next = 0;
  for (const s of query.stages) events.push(s.missing ? null : match.events[next++]);
  return { events, joinKeys: match.joinKeys };
}
