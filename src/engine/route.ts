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
 * Literal guards (`process.name : ("a", "b")`, `host.os.type == "x"`: rules/language.ts
 * `LiteralSet`) are decided per field for all the rules at once, one walk of the field and one
 * lookup per value; in each rule's list they come first, the ones fewer rules share before the
 * common ones, so a rule they turn away costs one look at the results.
 *
 * A guard that throws passes: the rule then evaluates the event itself and counts the error as
 * it always did. The lists are built once, so routing an event allocates nothing unless some but
 * not all of its category's rules take it.
 */
import { compileGetter, compileSome, type Getter, type Primitive, type Some } from './fields.js';
import type { EventGuard, LiteralSet } from '../rules/language.js';
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

/**
 * The literal guards on one field (rules/language.ts `LiteralSet`), decided together: one read of
 * the field, one lower-casing of each value, one Map lookup per value, instead of each guard
 * reading and lower-casing the field itself.
 */
interface LiteralGroup {
  /** Visits the field's values (fields.ts: constant-name property loads, no array built). */
  readonly some: Some;
  /** Marks the guards a value satisfies (their `hits` stamp); true (stop) at a value that is not a string. */
  readonly visit: (v: Primitive) => boolean;
}

const NONE: readonly never[] = Object.freeze([]);

export class EventRouter<T> {
  private readonly always: Route<T>;
  /** Per category field: the targets for one category value, `always` included, in input order. */
  private readonly fields: readonly { readonly get: Getter; readonly byCategory: ReadonlyMap<string, Route<T>> }[];
  private readonly tests: readonly ((doc: unknown) => boolean)[];
  /** Per guard: its literal group, or -1. */
  private readonly groupOf: Int32Array;
  private readonly groups: readonly LiteralGroup[];
  /** Per group: the event it was decided for; whether that event had a value that is not a string (undecided). */
  private readonly groupStamps: Float64Array;
  private readonly groupMixed: Uint8Array;
  /** Per literal guard: the last event that satisfies it. */
  private readonly hits: Float64Array;
  /** Per guard: the event (epoch) its result is for, and the result. */
  private readonly stamps: Float64Array;
  private readonly results: Uint8Array;
  private epoch = 0;

  constructor(targets: readonly { readonly target: T; readonly rule: Rule }[]) {
    const ids = new Map<string, number>();
    const tests: ((doc: unknown) => boolean)[] = [];
    const literals: (LiteralSet | undefined)[] = [];
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
          literals.push(g.category === undefined ? g.literals : undefined);
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
    // The order of a list's conjuncts does not change whether all pass (a guard has no side
    // effect), only what deciding costs. Literal guards first: once their field's group is decided
    // for an event, each is a lookup in the results. Among them, those fewer rules of the route
    // share first: `host.os.type == "windows"` passes for most events of a Windows rule set,
    // `process.parent.name : "winrshost.exe"` fails for most, and a rule it turns away costs one
    // lookup. The other guards keep the rule's order.
    const ordered = (entries: readonly Entry<T>[]): Route<T> => {
      const sharers = new Map<number, number>();
      for (const e of entries) for (const id of new Set(e.gate?.flatMap((l) => [...l]))) sharers.set(id, (sharers.get(id) ?? 0) + 1);
      const rank = (id: number) => (literals[id] === undefined ? Infinity : sharers.get(id)!);
      return route(entries.map((e) => ({ target: e.target, gate: e.gate && e.gate.map((l) => Int32Array.from([...l].sort((a, b) => rank(a) - rank(b) || 0))) })));
    };
    this.always = ordered(always);
    this.fields = [...byField].map(([field, byCategory]) => ({
      get: compileGetter(field), byCategory: new Map([...byCategory].map(([c, list]) => [c, ordered(list)])),
    }));
    this.tests = tests;
    this.stamps = new Float64Array(tests.length);
    this.results = new Uint8Array(tests.length);
    this.hits = new Float64Array(tests.length);
    const byGuardField = new Map<string, number[]>();
    literals.forEach((l, id) => {
      if (l === undefined) return;
      if (!byGuardField.has(l.field)) byGuardField.set(l.field, []);
      byGuardField.get(l.field)!.push(id);
    });
    this.groupOf = new Int32Array(tests.length).fill(-1);
    this.groups = [...byGuardField].map(([field, ids], g) => {
      const exact = new Map<string, number[]>();
      const folded = new Map<string, number[]>();
      for (const id of ids) {
        this.groupOf[id] = g;
        const l = literals[id]!;
        const to = l.caseInsensitive ? folded : exact;
        for (const v of new Set(l.values)) (to.get(v) ?? to.set(v, []).get(v)!).push(id);
      }
      const frozen = (m: Map<string, number[]>) => new Map([...m].map(([v, list]) => [v, Int32Array.from(list)]));
      const exactIds = frozen(exact);
      const foldedIds = frozen(folded);
      // A Map lookup hashes the whole value, and each event's strings are new: first the lengths
      // the literals have. A value lower-cases to an ASCII literal only through characters that
      // lower-case one for one (the one that grows, U+0130, gives a non-ASCII pair), so with
      // ASCII literals its length decides too; otherwise every value is looked up.
      const exactLengths = lengths([...exact.keys()]);
      const foldedLengths = [...folded.keys()].every((v) => /^[\x00-\x7f]*$/.test(v)) ? lengths([...folded.keys()]) : null;
      const visit = (v: Primitive): boolean => {
        if (typeof v !== 'string') return true;
        const { hits: stamps, epoch } = this;
        if (v.length < exactLengths.length && exactLengths[v.length] === 1) {
          const hits = exactIds.get(v);
          if (hits !== undefined) for (let j = 0; j < hits.length; j++) stamps[hits[j]] = epoch;
        }
        if (foldedIds.size > 0 && (foldedLengths === null || (v.length < foldedLengths.length && foldedLengths[v.length] === 1))) {
          const more = foldedIds.get(v.toLowerCase());
          if (more !== undefined) for (let j = 0; j < more.length; j++) stamps[more[j]] = epoch;
        }
        return false;
      };
      return { some: compileSome(field), visit };
    });
    this.groupStamps = new Float64Array(this.groups.length);
    this.groupMixed = new Uint8Array(this.groups.length);
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
    const g = this.groupOf[id];
    if (g >= 0) {
      if (this.groupStamps[g] !== this.epoch) this.decide(g, doc);
      if (this.groupMixed[g] === 0) return this.hits[id] === this.epoch;
    }
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

  /**
   * Decides every guard of a literal group for this event; false (nothing decided) when a value
   * of the field is not a string, where each guard's own test decides (numbers compare as numbers).
   */
  private decide(g: number, doc: unknown): void {
    const group = this.groups[g];
    this.groupStamps[g] = this.epoch;
    this.groupMixed[g] = group.some(doc, group.visit) ? 1 : 0;
  }
}

/** Which lengths the strings have: 1 at each. */
function lengths(strings: readonly string[]): Uint8Array {
  const out = new Uint8Array(Math.max(0, ...strings.map((v) => v.length + 1)));
  for (const v of strings) out[v.length] = 1;
  return out;
}

function route<T>(entries: readonly Entry<T>[]): Route<T> {
  return { entries, targets: entries.map((e) => e.target), gated: entries.some((e) => e.gate !== null) };
}
