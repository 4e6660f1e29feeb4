/**
 * Rules in one shared read that can also share evaluation work: sequences whose first stage is
 * the same (condition, join keys, event category field), that see the same events (same
 * accepted categories, so the router sends them the same events; same Kibana filters) in the
 * same order (same tiebreaker), and that have no missing stages and no `until` (which act on
 * the first stage's partials per rule). Such rules share the ordering of events (SharedFront)
 * and the first stage's partial sequences (SharedStart); each still extends, completes and
 * alerts on its own. Fifty variants of one rule kept fifty copies of the same partials before.
 */
import { acceptedCategories, asEql, type CompiledSequence } from '../eql/compile.js';
import type { Rule } from '../rules/model.js';
import { SharedFront } from './evaluator.js';
import { SharedStart } from './sequence.js';

export interface Shared {
  readonly front: SharedFront;
  readonly sharedStart: SharedStart;
}

export function shareEvaluation(rules: readonly Rule[]): Map<Rule, Shared> {
  const groups = new Map<string, Rule[]>();
  for (const rule of rules) {
    const key = signature(rule);
    if (key === undefined) continue;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(rule);
  }
  const out = new Map<Rule, Shared>();
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const first = members[0].compiled as CompiledSequence;
    // The longest maxspan keeps first-stage partials long enough for every member.
    const spans = members.map((r) => (r.compiled as CompiledSequence).maxspanMs);
    const maxspan = spans.includes(null) ? null : Math.max(...(spans as number[]));
    const shared = { front: new SharedFront(members[0].tiebreakerField), sharedStart: new SharedStart(first.stages[0], maxspan) };
    for (const r of members) out.set(r, shared);
  }
  return out;
}

function signature(rule: Rule): string | undefined {
  const q = asEql(rule.compiled);
  if (q === null || q.kind !== 'sequence' || q.until !== null || q.stages.some((s) => s.missing) || q.stages.length < 2) return undefined;
  const stage = q.stages[0];
  const categories = acceptedCategories(q);
  return JSON.stringify([
    q.categoryField, rule.tiebreakerField ?? null, rule.filters.query ?? null, rule.exceptions?.key ?? '',
    categories === null ? null : [...categories].sort(),
    stage.keyFields.map((k) => k.path),
    JSON.stringify(stage.query, (k, v) => (k === 'start' || k === 'end' ? undefined : v)),
  ]);
}
