/**
 * Routing for a shared read: each event goes only to the rules that have a stage for its event
 * category (read once per event), not to every rule. A rule whose query has no routing (an EQL
 * `any` stage, a Sigma rule: rules/language.ts `routing`) takes every event. The lists are built once, so routing an event allocates nothing in the
 * usual case (one category value).
 */
import { compileGetter, type Getter } from './fields.js';
import type { Rule } from '../rules/model.js';

export class EventRouter<T> {
  private readonly always: readonly T[];
  /** Per category field: the targets for one category value, `always` included, in input order. */
  private readonly fields: readonly { readonly get: Getter; readonly byCategory: ReadonlyMap<string, readonly T[]> }[];

  constructor(targets: readonly { readonly target: T; readonly rule: Rule }[]) {
    const always: T[] = [];
    const byField = new Map<string, Map<string, T[]>>();
    const accepted = targets.map(({ target, rule }) => {
      const routing = rule.compiled.plan === 'streamed' ? rule.compiled.routing : null;
      if (routing === null) always.push(target);
      return { target, routing };
    });
    for (const { routing } of accepted) {
      if (routing === null) continue;
      const { field, categories } = routing;
      if (!byField.has(field)) byField.set(field, new Map());
      for (const c of categories) byField.get(field)!.set(c, []);
    }
    // Input order within each list: one event reaches the rules in the order they were given.
    for (const { target, routing } of accepted) {
      for (const [field, map] of byField) {
        for (const [c, list] of map) {
          const takes = routing === null || (routing.field === field && routing.categories.has(c));
          if (takes) list.push(target);
        }
      }
    }
    this.always = always;
    this.fields = [...byField].map(([field, byCategory]) => ({ get: compileGetter(field), byCategory }));
  }

  /** The targets an event with this document goes to. */
  route(doc: unknown): readonly T[] {
    if (this.fields.length === 0) return this.always;
    if (this.fields.length === 1) {
      const values = this.fields[0].get(doc);
      if (values.length === 1) return (typeof values[0] === 'string' && this.fields[0].byCategory.get(values[0])) || this.always;
    }
    const out = new Set<T>(this.always);
    for (const { get, byCategory } of this.fields) {
      for (const v of get(doc)) if (typeof v === 'string') for (const t of byCategory.get(v) ?? []) out.add(t);
    }
    return [...out];
  }
}
