/**
 * Query DSL primitives for pushdown, knowing no rule language: a field-type-aware builder
 * (term, terms, wildcard, range, CIDR, exists, and/or/not within a clause budget). Each language
 * translates its own conditions with it (eql/pushdown.ts, sigma/detection.ts) into an
 * Elasticsearch query that selects a SUPERSET of the events its in-memory evaluator accepts:
 * the evaluator re-checks every event, so pushdown only saves reading.
 *
 * Each translation says whether it is exact (selects the same events as the evaluator) or only
 * a superset. Only exact translations may be negated (`must_not`), because the complement of a
 * superset is a subset. A condition that cannot be translated becomes "no constraint". A field
 * is constrained only when every index maps it with a type the literal fits (keyword-like for
 * strings, numeric for numbers); unmapped, text or conflicting fields are never constrained,
 * since a document can hold in `_source` what a query on them would not find.
 * Case-insensitive pushdowns are exact only for ASCII patterns (Lucene and JavaScript fold
 * other letters differently). Known gap, shared with Elastic: a keyword value longer than the
 * mapping's `ignore_above` is not indexed, so a term query cannot find it.
 *
 * Size is bounded: Elasticsearch refuses a query with more than 1,024 clauses (7.x), and some
 * prebuilt rules carry exclusion lists longer than that. Case-sensitive lists become one `terms`
 * query; a disjunction over CLAUSE_BUDGET clauses is left to the evaluator, and a conjunction
 * keeps its smallest parts within the budget and leaves the rest to the evaluator.
 */
import { mayHave, type FieldTypes } from './field-caps.js';

export type EsQuery = Record<string, unknown>;

/** A value a term-like query compares with. */
export type TermValue = string | number | boolean | null;

export interface Translation {
  readonly query: EsQuery | null; // null: no constraint
  readonly exact: boolean;
}

export const NONE: Translation = { query: null, exact: false };
/**
 * Constant truths: a condition no event satisfies (always exact: a query that selects nothing
 * is the evaluator's empty set), and one every event satisfies. They fold away in and/or/not,
 * so a rule whose condition cannot hold selects nothing instead of its category.
 */
export const NEVER: Translation = { query: { match_none: {} }, exact: true };
export const ALWAYS: Translation = { query: { match_all: {} }, exact: true };
const CLAUSE_BUDGET = 512;

/** A query that selects nothing (`match_none`). */
export function isNever(q: EsQuery | null): boolean {
  return q !== null && Object.keys(q).length === 1 && q.match_none !== undefined;
}

function isAlways(t: Translation): boolean {
  return t.exact && t.query !== null && Object.keys(t.query).length === 1 && t.query.match_all !== undefined;
}

/** Number of leaf queries (a `terms` query counts once). */
export function clauses(q: EsQuery | null): number {
  if (q === null) return 0;
  const bool = q.bool as Record<string, EsQuery[]> | undefined;
  if (!bool) return 1;
  let n = 0;
  for (const key of ['filter', 'should', 'must', 'must_not']) for (const c of bool[key] ?? []) n += clauses(c);
  return n;
}

export function anyOf(all: readonly Translation[]): Translation {
  const parts = all.filter((p) => !isNever(p.query));
  if (all.length > 0 && parts.length === 0) return NEVER;
  if (parts.some(isAlways)) return ALWAYS;
  if (parts.some((p) => p.query === null)) return NONE;
  if (parts.length === 1) return parts[0];
  const query = { bool: { should: parts.map((p) => p.query), minimum_should_match: 1 } };
  if (clauses(query) > CLAUSE_BUDGET) return NONE;
  return { query, exact: parts.every((p) => p.exact) };
}
const KEYWORD_TYPES = new Set(['keyword', 'constant_keyword', 'wildcard']);
const NUMERIC_TYPES = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);

/** `*` or `?` in a pattern (both languages' wildcards). */
function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Escapes a pattern whose only special characters are `*` and `?` for a wildcard query. */
function wildcardValue(pattern: string): string {
  return pattern.replace(/\\/g, '\\\\');
}

export class Pushdown {
  constructor(private readonly types: FieldTypes) {}

  /** The field types it builds for (a language translating whole queries itself, as KQL does, reads them). */
  get fieldTypes(): FieldTypes {
    return this.types;
  }

  private typesOf(field: string): ReadonlySet<string> | undefined {
    const t = this.types.get(field);
    return t && t.size > 0 && !t.has('unmapped') ? t : undefined;
  }

  /** Whether every target index maps the field (with some type). */
  mapped(field: string): boolean {
    return this.typesOf(field) !== undefined;
  }

  /** Whether the field may hold values in any target index (one none maps is taken to be absent from every event). */
  known(field: string): boolean {
    return mayHave(this.types, field);
  }

  private allIn(field: string, allowed: ReadonlySet<string>): boolean {
    const t = this.typesOf(field);
    return t !== undefined && [...t].every((x) => allowed.has(x));
  }

  /** Conjunction of translations, within the clause budget (what does not fit is dropped). */
  allOf(all: readonly Translation[]): Translation {
    if (all.some((p) => isNever(p.query))) return NEVER;
    const parts = all.filter((p) => !isAlways(p));
    if (all.length > 0 && parts.length === 0) return ALWAYS;
    let exact = parts.every((p) => p.exact && p.query !== null);
    const sized = parts.filter((p) => p.query !== null).map((p) => ({ q: p.query as EsQuery, n: clauses(p.query) })).sort((a, b) => a.n - b.n);
    const queries: EsQuery[] = [];
    let used = 0;
    for (const { q, n } of sized) {
      if (used + n > CLAUSE_BUDGET) {
        exact = false;
        continue;
      }
      queries.push(q);
      used += n;
    }
    if (queries.length === 0) return NONE;
    return { query: queries.length === 1 ? queries[0] : { bool: { filter: queries } }, exact };
  }

  /** Negation: only of an exact translation. */
  not(t: Translation): Translation {
    if (isNever(t.query)) return ALWAYS;
    if (isAlways(t)) return NEVER;
    if (t.query === null || !t.exact) return NONE;
    return { query: { bool: { must_not: [t.query] } }, exact: true };
  }

  /** A `*`/`?` pattern on a keyword field (plain term when it has no wildcard). */
  wildcard(field: string, pattern: string, caseInsensitive: boolean): Translation {
    if (!hasWildcard(pattern)) return this.termFor(field, pattern, caseInsensitive);
    if (!this.allIn(field, KEYWORD_TYPES)) return NONE;
    const q = { wildcard: { [field]: { value: wildcardValue(pattern), ...(caseInsensitive ? { case_insensitive: true } : {}) } } };
    return { query: q, exact: !caseInsensitive || isAscii(pattern) };
  }

  /** A numeric range on a numeric field. */
  range(field: string, op: 'lt' | 'lte' | 'gt' | 'gte', value: number): Translation {
    if (!this.allIn(field, NUMERIC_TYPES)) return NONE;
    return { query: { range: { [field]: { [op]: value } } }, exact: true };
  }

  /** An IP field inside a CIDR block (a term query on an ip field takes CIDR notation). */
  cidr(field: string, block: string): Translation {
    if (!this.allIn(field, new Set(['ip']))) return NONE;
    return { query: { term: { [field]: block } }, exact: false };
  }

  /** The field has a value (a superset: exists only sees indexed values). */
  exists(field: string): Translation {
    if (!this.typesOf(field)) return NONE;
    return { query: { exists: { field } }, exact: false };
  }

  /** term-like query on `field` for one literal; null when the types do not allow it. */
  termFor(field: string, lit: TermValue, caseInsensitive: boolean): Translation {
    if (typeof lit === 'string') {
      if (this.allIn(field, KEYWORD_TYPES)) {
        // A case-insensitive term for "" matches nothing on 7.17 (found by the property test);
        // the empty string has no case anyway.
        if (caseInsensitive && lit !== '') return { query: { term: { [field]: { value: lit, case_insensitive: true } } }, exact: isAscii(lit) };
        return { query: { term: { [field]: lit } }, exact: true };
      }
      if (!caseInsensitive && this.allIn(field, new Set(['ip']))) return { query: { term: { [field]: lit } }, exact: false };
      return NONE;
    }
    if (typeof lit === 'number') {
      if (this.allIn(field, NUMERIC_TYPES) && (Number.isInteger(lit) || !this.allIn(field, INTEGER_TYPES))) {
        return { query: { term: { [field]: lit } }, exact: true };
      }
      return NONE;
    }
    if (typeof lit === 'boolean' && this.allIn(field, new Set(['boolean']))) return { query: { term: { [field]: lit } }, exact: true };
    return NONE;
  }
}
