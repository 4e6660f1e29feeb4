/**
 * Leading WHERE conjuncts as query DSL, for those with an exact form given the fields' types:
 * equality and IN and comparisons on keyword, numeric, date, ip or boolean fields; IS NOT NULL
 * as `exists` (IS NULL as its negation); LIKE with only `*` wildcards on keyword fields; KQL()
 * through an injected translator; AND/OR/NOT of those. A field that some index does not map, or
 * maps as text, gets no pushdown. Every translated query selects a superset of the events the
 * in-memory WHERE keeps (the WHERE still runs), so pushing down never loses a match.
 */
import type { FieldTypes } from '../search/field-caps.js';
import type { LeadingConjunct, PushdownCondition } from './conjuncts.js';

/** Translates a KQL query to DSL; null when it cannot (the conjunct then runs in memory only). */
export type KqlToDsl = (query: string) => Record<string, unknown> | null;

export interface PushdownResult {
  /** DSL clauses for a bool filter, one per pushed conjunct. */
  readonly filters: readonly Record<string, unknown>[];
  /** The conjuncts pushed and those left to memory, by text. */
  readonly pushed: readonly string[];
  readonly inMemory: readonly string[];
}

const KEYWORD = new Set(['keyword', 'constant_keyword', 'wildcard']);
const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
const EXACT = new Set([...KEYWORD, ...NUMERIC, 'date', 'date_nanos', 'ip', 'boolean']);

function typesOf(types: FieldTypes, field: string): ReadonlySet<string> | null {
  const t = types.get(field);
  if (!t || t.size === 0 || t.has('unmapped')) return null;
  return t;
}

function allIn(t: ReadonlySet<string>, allowed: ReadonlySet<string>): boolean {
  return [...t].every((x) => allowed.has(x));
}

function valueFits(t: ReadonlySet<string>, v: string | number | boolean): boolean {
  if (allIn(t, KEYWORD)) return typeof v === 'string';
  if (allIn(t, NUMERIC)) return typeof v === 'number';
  if (allIn(t, new Set(['date', 'date_nanos']))) return typeof v === 'string' || typeof v === 'number';
  if (allIn(t, new Set(['ip']))) return typeof v === 'string' && !v.includes('/');
  if (allIn(t, new Set(['boolean']))) return typeof v === 'boolean';
  return false;
}

export function conditionToDsl(c: PushdownCondition, types: FieldTypes, kql?: KqlToDsl, strict = false): Record<string, unknown> | null {
  switch (c.kind) {
    case 'eq': {
      const t = typesOf(types, c.field);
      if (!t || !allIn(t, EXACT) || !c.values.every((v) => valueFits(t, v))) return null;
      return c.values.length === 1 ? { term: { [c.field]: c.values[0] } } : { terms: { [c.field]: c.values } };
    }
    case 'range': {
      const t = typesOf(types, c.field);
      if (!t || !allIn(t, EXACT) || allIn(t, new Set(['boolean'])) || !valueFits(t, c.value)) return null;
      const op = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' }[c.op];
      return { range: { [c.field]: { [op]: c.value } } };
    }
    case 'exists': {
      if (!typesOf(types, c.field)) return null;
      const q = { exists: { field: c.field } };
      return c.negated ? { bool: { must_not: [q] } } : q;
    }
    case 'like': {
      const t = typesOf(types, c.field);
      if (!t || !allIn(t, KEYWORD) || /[?\\]/.test(c.pattern)) return null;
      if (!c.pattern.includes('*')) return { term: { [c.field]: c.pattern } };
      return { wildcard: { [c.field]: { value: c.pattern } } };
    }
    case 'kql':
      return kql ? kql(c.query) : null;
    case 'and':
    case 'or': {
      const parts = c.operands.map((o) => conditionToDsl(o, types, kql, strict));
      if (c.kind === 'and' && !strict) {
        // A conjunction may push the parts that translate: the rest runs in memory anyway.
        const ok = parts.filter((p): p is Record<string, unknown> => p !== null);
        return ok.length === 0 ? null : { bool: { filter: ok } };
      }
      if (parts.some((p) => p === null)) return null;
      return c.kind === 'and' ? { bool: { filter: parts } } : { bool: { should: parts, minimum_should_match: 1 } };
    }
    case 'not': {
      // NOT may only negate a translation that is exact both ways: not a partial AND, not KQL.
      if (!exact(c.operand)) return null;
      const q = conditionToDsl(c.operand, types, kql, true);
      return q === null ? null : { bool: { must_not: [q] } };
    }
    case 'other':
      return null;
  }
}

/** Whether the DSL of `c` (when it has one) selects exactly the events it accepts or rejects, not a superset. */
function exact(c: PushdownCondition): boolean {
  if (c.kind === 'and' || c.kind === 'or') return c.operands.every(exact);
  if (c.kind === 'not') return exact(c.operand);
  return c.kind !== 'other' && c.kind !== 'kql';
}

export function pushdown(conjuncts: readonly LeadingConjunct[], types: FieldTypes, kql?: KqlToDsl): PushdownResult {
  const filters: Record<string, unknown>[] = [];
  const pushed: string[] = [];
  const inMemory: string[] = [];
  for (const c of conjuncts) {
    const q = conditionToDsl(c.condition, types, kql);
    if (q) {
      filters.push(q);
      pushed.push(c.text);
    } else inMemory.push(c.text);
  }
  return { filters, pushed, inMemory };
}
