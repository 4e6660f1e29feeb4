/**
 * A match as the engine found it, for `lookout test-rule --raw`: the events of each stage in
 * order, with null in the place of a missing event (`![...]`, what Elasticsearch shows as a
 * placeholder), and the join keys. A user can check it against the event ids Elasticsearch
 * returns for the same query.
 */
import type { CompiledEql } from '../eql/compile.js';
import type { CompiledSigma } from '../sigma/compiled.js';
import type { EventRecord, RuleMatch } from './events.js';

export interface RawResult {
  readonly events: readonly (EventRecord | null)[];
  readonly joinKeys: RuleMatch['joinKeys'];
}

export function rawResult(query: CompiledEql | CompiledSigma, match: RuleMatch): RawResult {
  if (query.kind !== 'sequence' || !query.stages.some((s) => s.missing)) return { events: match.events, joinKeys: match.joinKeys };
  const events: (EventRecord | null)[] = [];
  let next = 0;
  for (const s of query.stages) events.push(s.missing ? null : match.events[next++]);
  return { events, joinKeys: match.joinKeys };
}
