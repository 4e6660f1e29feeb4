/**
 * Routing for a shared read: each event goes only to the rules that can use it, not to every
 * rule. First by event category (read once per event): a rule takes the categories it has a
 * stage for; a rule whose query has no routing (an EQL `any` stage, a Sigma rule:
 * rules/language.ts `routing`) takes every category. Then by the query's guards (rules/language.ts
 * `guards`: for an EQL rule, per stage, the category test and the conjuncts of its condition):
 * a rule takes the event only if it passes every guard of one of its lists. Guards with the same
 * key are one test, evaluated at most once per event for all the rules of the read (many
 * prebuilt rules begin with `host.os.type == "windows"`, `event.type == "start"`,
 * `process.name : (...)`), and only as far as a rule needs it, in the rule's own order; most
 * events of a mix of rules are turned away here by the first test that fails, shared.
 *
 * A guard that throws passes: the rule then evaluates the event itself and counts the error as
 * it always did. The lists are built once, so routing an event allocates nothing unless some but
 * not all of its category's rules take it.
 */
import { compileGetter, type Getter } from './fields.js';
import type { EventGuard } from '../rules/language.js';
import type { Rule } from '../rules/model.js';

interface Entry<T> {
  readonly target: T;
  /** Lists of guard numbers, one of which must all pass; null: no guards, the event passes. */
  readonly gate: readonly Int32Array[] | null;
}

/** A rule's guards as numbers, the category test of each list apart. */
interface Gate {
  readonly lists: readonly { readonly category: EventGuard['category']; readonly categoryId: number; readonly ids: Int32Array }[];
}

interface Route<T> {
  readonly entries: readonly Entry<T>[];
  /** Every target of the entries, returned as it is when all of them take the event. */
  readonly targets: readonly T[];
  readonly gated: boolean;
}

const NONE: readonly never[] = Object.freeze([]);

export class EventRouter<T> {
  private readonly always: Route<T>;
  /** Per category field: the targets for one category value, `always` included, in input order. */
  private readonly fields: readonly { readonly get: Getter; readonly byCategory: ReadonlyMap<string, Route<T>> }[];
  private readonly tests: readonly ((doc: unknown) => boolean)[];
  /** Per guard: the event (epoch) its result is for, and the result. */
  private readonly stamps: Float64Array;
  private readonly results: Uint8Array;
  private epoch = 0;

  constructor(targets: readonly { readonly target: T; readonly rule: Rule }[]) {
    const ids = new Map<string, number>();
    const tests: ((doc: unknown) => boolean)[] = [];
    const always: Entry<T>[] = [];
    const byField = new Map<string, Map<string, Entry<T>[]>>();
    const accepted = targets.map(({ target, rule }) => {
      const q = rule.compiled;
      const routing = q.plan === 'streamed' ? q.routing : null;
      const guards = q.plan === 'streamed' ? q.guards : undefined;
      const number = (g: EventGuard): number => {
        let id = ids.get(g.key);
        if (id === undefined) {
          id = tests.length;
          ids.set(g.key, id);
          tests.push(g.test);
        }
        return id;
      };
      const gate: Gate | null = guards === undefined ? null : {
        lists: guards.map((list) => {
          const category = list.find((g) => g.category !== undefined);
          return { category: category?.category, categoryId: category ? number(category) : -1, ids: Int32Array.from(list, number) };
        }),
      };
      if (routing === null) always.push({ target, gate: gate && gate.lists.map((l) => l.ids) });
      return { target, gate, routing };
    });
    for (const { routing } of accepted) {
      if (routing === null) continue;
      const { field, categories } = routing;
      if (!byField.has(field)) byField.set(field, new Map());
      for (const c of categories) byField.get(field)!.set(c, []);
    }
    // Input order within each list: one event reaches the rules in the order they were given.
    // In the list of a category, a rule's guard lists for another category of the same field are
    // dropped (an event reaches this list because it has this category; lists of its other
    // categories are reached through their own lists), and the category test of the others is known.
    for (const { target, gate, routing } of accepted) {
      for (const [field, map] of byField) {
        for (const [c, list] of map) {
          const takes = routing === null || (routing.field === field && routing.categories.has(c));
          if (!takes) continue;
          const lists = gate && gate.lists
            .filter((l) => l.category === undefined || l.category.field !== field || l.category.value === c)
            .map((l) => (l.category !== undefined && l.category.field === field ? l.ids.filter((id) => id !== l.categoryId) : l.ids));
          list.push({ target, gate: lists });
        }
      }
    }
    this.always = route(always);
    this.fields = [...byField].map(([field, byCategory]) => ({
      get: compileGetter(field), byCategory: new Map([...byCategory].map(([c, list]) => [c, route(list)])),
    }));
    this.tests = tests;
    this.stamps = new Float64Array(tests.length);
    this.results = new Uint8Array(tests.length);
  }

  /** The targets an event with this document goes to. */
  route(doc: unknown): readonly T[] {
    this.epoch++;
    if (this.fields.length === 0) return this.gate(this.always, doc);
    if (this.fields.length === 1) {
      const values = this.fields[0].get(doc);
      if (values.length === 1) return this.gate((typeof values[0] === 'string' && this.fields[0].byCategory.get(values[0])) || this.always, doc);
    }
    const out = new Set<T>(this.gate(this.always, doc));
    for (const { get, byCategory } of this.fields) {
      for (const v of get(doc)) {
        const r = typeof v === 'string' ? byCategory.get(v) : undefined;
        if (r !== undefined) for (const t of this.gate(r, doc)) out.add(t);
      }
    }
    return [...out];
  }

  /** The targets of a route whose guards the event passes. */
  private gate(r: Route<T>, doc: unknown): readonly T[] {
    if (!r.gated) return r.targets;
    const { entries } = r;
    // The usual outcomes, none or all, need no array.
    let out: T[] | undefined;
    let passed = 0;
    let broken = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.gate === null || this.passes(e.gate, doc)) {
        if (!broken) passed++;
        else (out ??= r.targets.slice(0, passed)).push(e.target);
      } else {
        broken = true;
      }
    }
    if (out !== undefined) return out;
    if (!broken) return r.targets;
    return passed === 0 ? NONE : r.targets.slice(0, passed);
  }

  private passes(gate: readonly Int32Array[], doc: unknown): boolean {
    for (let l = 0; l < gate.length; l++) {
      const list = gate[l];
      let all = true;
      for (let i = 0; i < list.length; i++) {
        if (!this.test(list[i], doc)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  private test(id: number, doc: unknown): boolean {
    if (this.stamps[id] === this.epoch) return this.results[id] === 1;
    let ok: boolean;
    try {
      ok = this.tests[id](doc);
    } catch {
      ok = true;
    }
    this.stamps[id] = this.epoch;
    this.results[id] = ok ? 1 : 0;
    return ok;
  }
}

function route<T>(entries: readonly Entry<T>[]): Route<T> {
  return { entries, targets: entries.map((e) => e.target), gated: entries.some((e) => e.gate !== null) };
}
