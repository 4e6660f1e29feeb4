/**
 * EQL to Elasticsearch queries, with the query DSL primitives of search/pushdown.ts: each stage
 * becomes its category test and its condition, and the whole query any of its stages (or its
 * `until`). The result selects a SUPERSET of the events the evaluator accepts (the rules of
 * exactness and size are in search/pushdown.ts).
 *
 * A field that no target index maps (and no `flattened` parent holds) is taken to be absent
 * from every event, as Elasticsearch's own EQL takes it (it filters on the server, where such a
 * field is null) and as the Sigma translation does (search/pushdown.ts `known`): a comparison on
 * it is decided here as the evaluator decides it for a missing field (`f : "x"`, `f == "x"`,
 * `f in (...)` false; `f != "x"`, `f == null` true; `not` complements), so a prebuilt rule whose
 * conditions name fields the data does not have (`process.pe.original_file_name`,
 * `process.args` on a source without them) selects nothing rather than its whole category. A
 * sequence or sample with a stage that can never match selects nothing; a missing-event stage or
 * an `until` that can never match is left out. Assumed: a document holds no field its index does
 * not map (dynamic mapping on, no `enabled: false` object), which `dynamic: false` indices break.
 */
import { ALWAYS, anyOf, isNever, NEVER, NONE, type EsQuery, type Pushdown, type Translation } from '../search/pushdown.js';
import type { Expr } from './ast.js';
import type { CompiledEql, CompiledStage } from './compile.js';
import { hasWildcard } from './wildcard.js';

const FLIPPED = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const;

export function eqlCondition(pd: Pushdown, expr: Expr): Translation {
  switch (expr.kind) {
    case 'and':
      return pd.allOf(expr.operands.map((e) => eqlCondition(pd, e)));
    case 'or':
      return anyOf(expr.operands.map((e) => eqlCondition(pd, e)));
    case 'not':
      return pd.not(eqlCondition(pd, expr.operand));
    case 'literal':
      if (expr.value === true) return { query: { match_all: {} }, exact: true };
      if (expr.value === false || expr.value === null) return { query: { match_none: {} }, exact: true };
      return NONE;
    case 'compare': {
      let { left, right } = expr;
      let op = expr.op;
      if (left.kind === 'literal' && right.kind === 'field') {
        [left, right] = [right, left];
        op = FLIPPED[op];
      }
      if (left.kind !== 'field' || right.kind !== 'literal') return NONE;
      const field = left.path;
      const value = right.value;
      // Absent everywhere: `== null` holds, `!=` another value holds (the complement), the rest never.
      if (!pd.known(field)) return (value === null ? op === '==' : op === '!=') ? ALWAYS : NEVER;
      if (value === null) {
        if (!pd.mapped(field)) return NONE;
        // exists finds indexed values; a value in _source that was not indexed would be missed.
        if (op === '==') return { query: { bool: { must_not: [{ exists: { field } }] } }, exact: false };
        return NONE;
      }
      if (op === '==' || op === '!=') {
        const t = pd.termFor(field, value, false);
        return op === '==' ? t : pd.not(t);
      }
      if (typeof value === 'number') return pd.range(field, op === '<' ? 'lt' : op === '<=' ? 'lte' : op === '>' ? 'gt' : 'gte', value);
      return NONE;
    }
    case 'match': {
      if (expr.value.kind === 'field' && !pd.known(expr.value.path)) return NEVER;
      if (expr.value.kind !== 'field' || expr.op === 'regex') return NONE;
      const field = expr.value.path;
      const parts: Translation[] = [];
      for (const p of expr.patterns) {
        if (p.kind !== 'literal') return NONE;
        const t = typeof p.value === 'string' && hasWildcard(p.value)
          ? pd.wildcard(field, p.value, expr.caseInsensitive)
          : pd.termFor(field, p.value, expr.caseInsensitive && typeof p.value === 'string');
        if (t.query === null) return NONE;
        parts.push(t);
      }
      return anyOf(parts);
    }
    case 'in': {
      if (expr.value.kind !== 'field') return NONE;
      const field = expr.value.path;
      if (!pd.known(field)) {
        // A missing value is in the list only when the list holds null.
        const held = expr.list.some((i) => i.kind === 'literal' && i.value === null);
        return held !== expr.negated ? ALWAYS : NEVER;
      }
      const parts: Translation[] = [];
      for (const item of expr.list) {
        if (item.kind !== 'literal' || item.value === null) return NONE;
        const t = pd.termFor(field, item.value, expr.caseInsensitive && typeof item.value === 'string');
        if (t.query === null) return NONE;
        parts.push(t);
      }
      // Case-sensitive lists: one terms query instead of a clause per value.
      const plain = parts.length > 1 && parts.every((p) => {
        const term = (p.query as { term?: Record<string, unknown> }).term;
        const v = term && Object.values(term)[0];
        return v !== undefined && (typeof v !== 'object' || v === null);
      });
      const positive: Translation = plain
        ? { query: { terms: { [field]: parts.map((p) => Object.values((p.query as { term: Record<string, unknown> }).term)[0]) } }, exact: parts.every((p) => p.exact) }
        : anyOf(parts);
      if (positive.query === null) return NONE;
      return expr.negated ? pd.not(positive) : positive;
    }
    default:
      return NONE;
  }
}

/** One stage: its category (when the category field is keyword) and its condition; `match_none` when it can never match. */
export function eqlStage(pd: Pushdown, stage: CompiledStage, categoryField: string): EsQuery | null {
  const filters: EsQuery[] = [];
  const c = eqlCondition(pd, stage.query.condition);
  if (isNever(c.query)) return NEVER.query;
  // A null value in a non-optional join key excludes the event: a key no index maps, every event.
  if (stage.keyFields.some((key) => !key.optional && !pd.known(key.path))) return NEVER.query;
  if (stage.query.category !== null) {
    const t = pd.termFor(categoryField, stage.query.category, false);
    if (t.query) filters.push(t.query);
  }
  if (c.query && !isAlwaysQuery(c.query)) filters.push(c.query);
  for (const key of stage.keyFields) {
    if (!key.optional && pd.mapped(key.path)) filters.push({ exists: { field: key.path } });
  }
  if (filters.length === 0) return null;
  return filters.length === 1 ? filters[0] : { bool: { filter: filters } };
}

/** The whole query: any stage (or the until condition) may match. null: read everything. */
export function eqlPushdown(pd: Pushdown, compiled: CompiledEql): EsQuery | null {
  const stages = compiled.kind === 'event' ? [compiled.stage] : [...new Set(compiled.stages)];
  if (compiled.kind === 'sequence' && compiled.until) stages.push(compiled.until);
  const queries = stages.map((s) => ({ stage: s, query: eqlStage(pd, s, compiled.categoryField) }));
  // Every result needs an event of each stage that is not a missing event (nor the until).
  const until = compiled.kind === 'sequence' ? compiled.until : null;
  if (queries.some((q) => isNever(q.query) && !q.stage.missing && q.stage !== until)) return NEVER.query;
  const parts = queries.filter((q) => !isNever(q.query)).map((q) => q.query);
  if (parts.length === 0) return NEVER.query;
  if (parts.some((p) => p === null)) return null;
  return parts.length === 1 ? parts[0] : { bool: { should: parts, minimum_should_match: 1 } };
}

function isAlwaysQuery(q: EsQuery): boolean {
  return Object.keys(q).length === 1 && q.match_all !== undefined;
}
