/**
 * Compiles a rule's exception items to what the engine applies, with Kibana's detection engine
 * semantics (the lists plugin's build_exception_filter): an item's entries are ANDed, the items
 * are ORed, and an event that matches any item is excepted (the whole is a must_not). `excluded`
 * negates an entry; `nested` evaluates its entries within one object of the nested path; an item
 * with `os_types` also needs `host.os.type` or `host.os.name.caseless` to equal one of them.
 * `match`/`match_any` are match_phrase, `wildcard` is a case-sensitive wildcard query, value
 * lists are terms (ip: values may be CIDR blocks), ranges (ip_range `a-b`) or, for text lists,
 * match with operator `and`.
 *
 * Two forms come out. `excepts(doc, now)` decides in memory for every active item (expired
 * ones, `expire_time <= now`, are not applied). `mustNot(types)` gives the clauses for the
 * search, only for items whose translation the in-memory check reproduces exactly on the
 * fields' mapped types (keyword, whole numbers, double, boolean, IPv4, nested paths mapped as
 * nested) and that carry no expire_time (expiry is judged per execution in memory). Every other
 * item is applied in memory only: the search then reads a superset of the events kept. The
 * clauses sent stay within a budget (400 leaf queries), so a rule never passes the clause limit.
 */
import { cidrContains, parseIp } from '../eql/functions.js';
import { compileGetter, type Primitive } from '../eql/fields.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { Entry, ExceptionItem, ExceptionListRef, NestedChild, ValueListType } from './model.js';

type Dsl = Record<string, unknown>;
type Test = (doc: unknown) => boolean;

/** Value list contents by list id (`list.id`), one value a line as Kibana exports them. */
export type ValueLists = ReadonlyMap<string, readonly string[]>;

export interface CompiledExceptions {
  /** The lists the rule had (Kibana's `exceptions_list`), written on its alerts. */
  readonly lists: readonly ExceptionListRef[];
  /** Fields the items read: fetched in `_source` and looked up in `_field_caps`. */
  readonly fields: readonly string[];
  /** Identity of the item set: rules share evaluation only with the same exceptions. */
  readonly key: string;
  /** Number of items (expired ones included). */
  readonly itemCount: number;
  /** Lists the rule names that nobody provided and that are applied as empty (Kibana's built-in Endpoint list, `endpoint_list`). */
  readonly assumedEmpty?: readonly string[];
  /** Whether an event is excepted at execution time `now` (epoch ms). */
  excepts(doc: unknown, now: number): boolean;
  /** must_not clauses for the search: the items translated exactly for fields of these types. */
  mustNot(types: FieldTypes): Dsl[];
  /**
   * Every item active at `now` as Kibana sends it, whatever the field types: the server's answer
   * is then the truth (for rules that aggregate on the server, where there is no event to check).
   */
  serverClauses(now: number): Dsl[];
}

/** Leaf queries of the must_not clauses sent with a rule's query (the pushdown uses at most 512 more). */
const CLAUSE_BUDGET = 400;

/** Number of leaf queries, inside bool and nested (a `terms` query counts once). */
function leafClauses(q: unknown): number {
  if (Array.isArray(q)) return q.reduce((n: number, x) => n + leafClauses(x), 0);
  if (!q || typeof q !== 'object') return 0;
  const o = q as Dsl;
  if (o.bool && typeof o.bool === 'object') {
    const b = o.bool as Dsl;
    return ['filter', 'should', 'must', 'must_not'].reduce((n, k) => n + leafClauses(b[k]), 0);
  }
  if (o.nested && typeof o.nested === 'object') return leafClauses((o.nested as Dsl).query);
  return 1;
}

/** Kibana's largest value list that it still sends in the search (larger ones are checked in memory). */
const MAX_PUSHED_LIST = 65_536;

const KEYWORD = new Set(['keyword', 'constant_keyword']);
const WHOLE = new Set(['long', 'integer', 'short', 'byte']);

/** Whether match_phrase/terms with these string values on a field of these types equals `equalsValue`. */
function exactOn(types: FieldTypes, field: string, values: readonly string[]): boolean {
  const t = types.get(field);
  if (!t || t.size === 0) return false;
  for (const type of t) {
    if (KEYWORD.has(type)) continue;
    if (WHOLE.has(type) && values.every((v) => /^-?\d{1,15}$/.test(v))) continue;
    if (type === 'double' && values.every((v) => /^-?\d+(\.\d+)?$/.test(v))) continue;
    if (type === 'boolean' && values.every((v) => v === 'true' || v === 'false')) continue;
    if (type === 'ip' && values.every((v) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(v) && v.split('.').every((o) => String(Number(o)) === o && Number(o) < 256))) continue;
    return false;
  }
  return true;
}

function leafMapped(types: FieldTypes, field: string): boolean {
  const t = types.get(field);
  return !!t && t.size > 0 && ![...t].some((x) => x === 'unmapped' || x === 'object' || x === 'nested');
}

/** The value equality match_phrase has on keyword, numeric and boolean fields. */
function equalsValue(v: Primitive, want: string): boolean {
  if (typeof v === 'string') return v === want;
  if (typeof v === 'number') return want.trim() !== '' && Number(want) === v;
  return String(v) === want;
}

/** An Elasticsearch wildcard pattern: `*` any run, `?` one character, `\` escapes; case-sensitive. */
export function wildcardTest(pattern: string): (s: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += escapeRe(c);
  }
  const rx = new RegExp(`^${re}$`, 'su');
  return (s) => rx.test(s);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function ipEquals(v: string, want: string): boolean {
  if (want.includes('/')) return cidrContains(v, want);
  const a = parseIp(v);
  const b = parseIp(want);
  return !!a && !!b && a.bits === b.bits && a.value === b.value;
}

function validIpValue(v: string): boolean {
  if (v.includes('-')) return v.split('-').length === 2 && v.split('-').every((s) => parseIp(s.trim()) !== null);
  const [base, len, ...rest] = v.split('/');
  const ip = parseIp(base);
  if (!ip || rest.length > 0) return false;
  return len === undefined || (/^\d{1,3}$/.test(len) && Number(len) <= ip.bits);
}

function inIpRange(v: string, range: string): boolean {
  if (!range.includes('-')) return ipEquals(v, range);
  const [lo, hi] = range.split('-').map((s) => parseIp(s.trim()));
  const x = parseIp(v);
  return !!x && !!lo && !!hi && x.bits === lo.bits && x.bits === hi.bits && x.value >= lo.value && x.value <= hi.value;
}

/** Tokens as the standard analyzer makes them, near enough: lower-cased runs of letters and digits. */
function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}_']+/u).filter((t) => t !== '');
}

interface CompiledEntry {
  readonly test: Test;
  /** The search clause when exact on these types, else undefined; with null types, Kibana's clause as it is. */
  readonly dsl: (types: FieldTypes | null) => Dsl | undefined;
}

function negate(e: CompiledEntry, excluded: boolean): CompiledEntry {
  if (!excluded) return e;
  return {
    test: (doc) => !e.test(doc),
    dsl: (types) => {
      const q = e.dsl(types);
      return q && { bool: { must_not: [q] } };
    },
  };
}

function compileLeaf(entry: Entry | NestedChild, field: string, lists: ValueLists): CompiledEntry {
  const get = compileGetter(field);
  const some = (test: (v: Primitive) => boolean): Test => (doc) => get(doc).some(test);
  switch (entry.type) {
    case 'match':
      return negate({
        test: some((v) => equalsValue(v, entry.value)),
        dsl: (types) => (types === null || exactOn(types, field, [entry.value]) ? { match_phrase: { [field]: entry.value } } : undefined),
      }, entry.operator === 'excluded');
    case 'match_any': {
      const values = entry.value;
      return negate({
        test: some((v) => values.some((w) => equalsValue(v, w))),
        dsl: (types) => (types === null || exactOn(types, field, values)
          ? { bool: { should: values.map((w) => ({ match_phrase: { [field]: w } })), minimum_should_match: 1 } }
          : undefined),
      }, entry.operator === 'excluded');
    }
    case 'wildcard': {
      const test = wildcardTest(entry.value);
      return negate({
        test: some((v) => typeof v === 'string' && test(v)),
        dsl: (types) => {
          const t = types?.get(field);
          return types === null || (t && t.size > 0 && [...t].every((x) => KEYWORD.has(x))) ? { wildcard: { [field]: { value: entry.value } } } : undefined;
        },
      }, entry.operator === 'excluded');
    }
    case 'exists':
      return negate({
        test: (doc) => get(doc).length > 0,
        dsl: (types) => (types === null || leafMapped(types, field) ? { exists: { field } } : undefined),
      }, entry.operator === 'excluded');
    case 'list': {
      const values = lists.get(entry.list.id) ?? [];
      return negate(compileList(field, entry.list.type, values, some), entry.operator === 'excluded');
    }
  }
  throw new Error(`unexpected entry type ${(entry as { type: string }).type}`);
}

function compileList(field: string, type: ValueListType, values: readonly string[], some: (t: (v: Primitive) => boolean) => Test): CompiledEntry {
  const small = values.length <= MAX_PUSHED_LIST;
  if (type === 'ip' || type === 'ip_range') {
    const [ranges, blocks] = [values.filter((v) => v.includes('-')), values.filter((v) => !v.includes('-'))];
    return {
      test: some((v) => typeof v === 'string' && values.some((w) => inIpRange(v, w))),
      dsl: (types) => {
        const t = types?.get(field);
        // A value that is not an IP, block or range would fail the whole search: memory only then.
        if (types !== null && (!small || !t || t.size !== 1 || !t.has('ip') || values.length === 0 || !values.every(validIpValue))) return undefined;
        const should: Dsl[] = ranges.map((r) => {
          const [gte, lte] = r.split('-').map((s) => s.trim());
          return { range: { [field]: { gte, lte } } };
        });
        if (blocks.length > 0) should.push({ terms: { [field]: blocks } });
        return { bool: { should, minimum_should_match: 1 } };
      },
    };
  }
  if (type === 'text') {
    const wanted = values.map(tokens);
    // match with operator `and`: every token of a value is among the field's tokens. The server's
    // analyzer is the truth, so this is applied in memory only.
    return {
      test: some((v) => {
        const have = new Set(tokens(String(v)));
        return wanted.some((ts) => ts.length > 0 && ts.every((t) => have.has(t)));
      }),
      dsl: (types) => (types === null
        ? { bool: { should: values.map((v) => ({ match: { [field]: { query: v, operator: 'and' } } })), minimum_should_match: 1 } }
        : undefined),
    };
  }
  const set = new Set(values);
  return {
    test: some((v) => (typeof v === 'string' ? set.has(v) : values.some((w) => equalsValue(v, w)))),
    dsl: (types) => (types === null || (small && values.length > 0 && exactOn(types, field, values)) ? { terms: { [field]: [...values] } } : undefined),
  };
}

/** The objects at a path, through arrays and dotted keys: the elements a nested query visits. */
function objectsAt(doc: unknown, parts: readonly string[]): unknown[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => objectsAt(d, parts));
  if (parts.length === 0) return doc !== null && typeof doc === 'object' ? [doc] : [];
  if (doc === null || typeof doc !== 'object') return [];
  const o = doc as Record<string, unknown>;
  const out: unknown[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const key = parts.slice(0, i).join('.');
    if (key in o) out.push(...objectsAt(o[key], parts.slice(i)));
  }
  return out;
}

function compileEntry(entry: Entry, lists: ValueLists): CompiledEntry {
  if (entry.type !== 'nested') return compileLeaf(entry, entry.field, lists);
  const path = entry.field;
  const parts = path.split('.');
  const inner = entry.entries.map((c) => compileLeaf(c, c.field, lists));
  const full = entry.entries.map((c) => compileLeaf(c, `${path}.${c.field}`, lists));
  return {
    test: (doc) => objectsAt(doc, parts).some((o) => inner.every((e) => e.test(o))),
    dsl: (types) => {
      const t = types?.get(path);
      if (types !== null && (!t || t.size !== 1 || !t.has('nested'))) return undefined;
      const qs = full.map((e) => e.dsl(types));
      if (qs.some((q) => q === undefined)) return undefined;
      return { nested: { path, query: { bool: { filter: qs } }, score_mode: 'none' } };
    },
  };
}

const OS_FIELDS = ['host.os.type', 'host.os.name.caseless'] as const;

interface CompiledItem {
  readonly test: Test;
  readonly expiresAt?: number;
  readonly dsl: (types: FieldTypes | null) => Dsl | undefined;
}

function compileItem(item: ExceptionItem, lists: ValueLists): CompiledItem {
  const parts = item.entries.map((e) => compileEntry(e, lists));
  const osParts: CompiledEntry[] = item.osTypes.length === 0 ? [] : [anyOf(OS_FIELDS.flatMap((f) =>
    item.osTypes.map((o) => compileLeaf({ field: f, operator: 'included', type: 'match', value: o }, f, lists))))];
  const all = [...osParts, ...parts];
  return {
    test: (doc) => all.every((p) => p.test(doc)),
    expiresAt: item.expiresAt,
    dsl: (types) => {
      if (types !== null && item.expiresAt !== undefined) return undefined;
      const qs = all.map((p) => p.dsl(types));
      if (qs.some((q) => q === undefined)) return undefined;
      return { bool: { filter: qs } };
    },
  };
}

function anyOf(es: readonly CompiledEntry[]): CompiledEntry {
  return {
    test: (doc) => es.some((e) => e.test(doc)),
    dsl: (types) => {
      const qs = es.map((e) => e.dsl(types));
      return qs.some((q) => q === undefined) ? undefined : { bool: { should: qs, minimum_should_match: 1 } };
    },
  };
}

function entryFields(e: Entry): string[] {
  return e.type === 'nested' ? e.entries.map((c) => `${e.field}.${c.field}`) : [e.field];
}

export const NO_EXCEPTIONS: CompiledExceptions = Object.freeze({
  lists: [], fields: [], key: '', itemCount: 0, excepts: () => false, mustNot: () => [], serverClauses: () => [],
});

/** Compiles items (value lists already read) for the lists named in `lists`. */
export function compileExceptions(refs: readonly ExceptionListRef[], items: readonly ExceptionItem[], values: ValueLists, assumedEmpty: readonly string[] = []): CompiledExceptions {
  if (refs.length === 0 && items.length === 0) return NO_EXCEPTIONS;
  const compiled = items.map((i) => compileItem(i, values));
  const fields = [...new Set(items.flatMap((i) => [...i.entries.flatMap(entryFields), ...(i.osTypes.length > 0 ? OS_FIELDS : [])]))];
  return Object.freeze({
    lists: Object.freeze(refs.map((r) => Object.freeze({ id: r.id, list_id: r.list_id, type: r.type, namespace_type: r.namespace_type }))),
    fields: Object.freeze(fields),
    key: JSON.stringify([refs.map((r) => [r.namespace_type, r.list_id]), items.map((i) => [i.entries, i.osTypes, i.expiresAt ?? null]),
      [...new Set(items.flatMap((i) => i.entries.filter((e) => e.type === 'list').map((e) => (e as { list: { id: string } }).list.id)))]
        .map((id) => [id, values.get(id)?.length ?? 0])]),
    itemCount: items.length,
    ...(assumedEmpty.length > 0 ? { assumedEmpty: Object.freeze([...assumedEmpty]) } : {}),
    excepts: (doc: unknown, now: number) => compiled.some((c) => (c.expiresAt === undefined || c.expiresAt > now) && c.test(doc)),
    mustNot: (types: FieldTypes) => {
      // Within a clause budget, so that the rule's query stays under the cluster's clause limit
      // (1,024 on 7.x) with the rule's own clauses; items past it are checked in memory only.
      const out: Dsl[] = [];
      let used = 0;
      for (const c of compiled) {
        const q = c.dsl(types);
        if (q === undefined) continue;
        const n = leafClauses(q);
        if (used + n > CLAUSE_BUDGET) continue;
        used += n;
        out.push(q);
      }
      return out;
    },
    serverClauses: (now: number) => compiled.filter((c) => c.expiresAt === undefined || c.expiresAt > now)
      .map((c) => c.dsl(null)).filter((q): q is Dsl => q !== undefined),
  });
}
