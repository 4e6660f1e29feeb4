/**
 * Kibana filters (`filters = [...]` in a rule): query DSL clauses that every event must pass,
 * as Kibana applies them to the rule's search. Lookout sends them to Elasticsearch with the
 * pushed-down query and also checks them in memory, so `lookout test-rule` applies them too.
 * The in-memory check understands the clauses Kibana's filter bar writes: match_phrase, match,
 * term, terms, exists, range, wildcard (`*`, `?`, `\\` escapes, `case_insensitive`), and bool (must,
 * filter, should, must_not); a rule with another
 * clause is refused at load time, naming it. Disabled filters are ignored; negated ones invert.
 */
import { compileGetter, type Primitive } from '../eql/fields.js';

export type EventPredicate = (doc: unknown) => boolean;

export class FilterError extends Error {}

type Dsl = Record<string, unknown>;

function isObject(v: unknown): v is Dsl {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(q: Dsl, what: string): [string, unknown] {
  const entries = Object.entries(q);
  if (entries.length !== 1) throw new FilterError(`${what} needs exactly one field`);
  return entries[0];
}

function valueOf(spec: unknown): unknown {
  return isObject(spec) ? (spec.query ?? spec.value) : spec;
}

function equalsLoose(v: Primitive, want: unknown): boolean {
  if (typeof want === 'number') return Number(v) === want;
  if (typeof want === 'boolean') return v === want || String(v) === String(want);
  return String(v) === String(want);
}

function compare(v: Primitive, bound: unknown): number | undefined {
  if (typeof bound === 'number') {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n - bound : undefined;
  }
  if (typeof bound === 'string') {
    const a = Date.parse(String(v));
    const b = Date.parse(bound);
    if (!Number.isNaN(a) && !Number.isNaN(b) && !/^-?\d+(\.\d+)?$/.test(bound)) return a - b;
    const s = String(v);
    return s < bound ? -1 : s > bound ? 1 : 0;
  }
  return undefined;
}

/** Lucene's wildcard pattern (a keyword field's `wildcard` query): `*` any run, `?` one character, `\\` escapes. */
function wildcardRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, caseInsensitive ? 'iu' : 'u');
}

/** Compiles one query DSL clause to a predicate over event documents. */
export function compileDsl(q: unknown): EventPredicate {
  if (!isObject(q)) throw new FilterError('a filter clause must be an object');
  const [kind, body] = only(q, 'a query clause');
  switch (kind) {
    case 'match_all':
      return () => true;
    case 'match_none':
      return () => false;
    case 'match_phrase':
    case 'match':
    case 'term': {
      if (!isObject(body)) throw new FilterError(`${kind} needs a field`);
      const [field, spec] = only(body, kind);
      const get = compileGetter(field);
      const want = valueOf(spec);
      const ci = kind === 'term' && isObject(spec) && spec.case_insensitive === true;
      return (doc) => get(doc).some((v) => (ci ? String(v).toLowerCase() === String(want).toLowerCase() : equalsLoose(v, want)));
    }
    case 'terms': {
      if (!isObject(body)) throw new FilterError('terms needs a field');
      const [field, list] = Object.entries(body).filter(([k]) => k !== 'boost')[0] ?? [];
      if (!field || !Array.isArray(list)) throw new FilterError('terms needs a field and a list');
      const get = compileGetter(field);
      return (doc) => get(doc).some((v) => list.some((w) => equalsLoose(v, w)));
    }
    case 'wildcard': {
      if (!isObject(body)) throw new FilterError('wildcard needs a field');
      const [field, spec] = only(body, 'wildcard');
      const pattern = isObject(spec) ? (spec.value ?? spec.wildcard) : spec;
      if (typeof pattern !== 'string') throw new FilterError(`wildcard on ${field} needs a string value`);
      const re = wildcardRegExp(pattern, isObject(spec) && spec.case_insensitive === true);
      const get = compileGetter(field);
      return (doc) => get(doc).some((v) => typeof v === 'string' && re.test(v));
    }
    case 'exists': {
      const field = isObject(body) ? body.field : undefined;
      if (typeof field !== 'string') throw new FilterError('exists needs a field');
      const get = compileGetter(field);
      return (doc) => get(doc).length > 0;
    }
    case 'range': {
      if (!isObject(body)) throw new FilterError('range needs a field');
      const [field, spec] = only(body, 'range');
      if (!isObject(spec)) throw new FilterError('range needs bounds');
      const get = compileGetter(field);
      const tests: ((v: Primitive) => boolean)[] = [];
      for (const [op, bound] of Object.entries(spec)) {
        const ok = { gt: (c: number) => c > 0, gte: (c: number) => c >= 0, lt: (c: number) => c < 0, lte: (c: number) => c <= 0 }[op];
        if (!ok) continue;
        tests.push((v) => {
          const c = compare(v, bound);
          return c !== undefined && ok(c);
        });
      }
      return (doc) => get(doc).some((v) => tests.every((t) => t(v)));
    }
    case 'bool': {
      if (!isObject(body)) throw new FilterError('bool needs clauses');
      const list = (k: string) => {
        const v = body[k];
        return (v === undefined ? [] : Array.isArray(v) ? v : [v]).map(compileDsl);
      };
      const must = [...list('must'), ...list('filter')];
      const should = list('should');
      const mustNot = list('must_not');
      const minShould = typeof body.minimum_should_match === 'number' ? body.minimum_should_match : must.length === 0 && should.length > 0 ? 1 : 0;
      return (doc) => must.every((p) => p(doc)) && !mustNot.some((p) => p(doc)) &&
        (minShould === 0 || should.filter((p) => p(doc)).length >= minShould);
    }
    default:
      throw new FilterError(`filter clause '${kind}' is not supported (supported: match_phrase, match, term, terms, exists, range, wildcard, bool)`);
  }
}

export interface CompiledFilters {
  /** For the search: clauses every hit must pass (must_not for negated filters). */
  readonly query: Dsl | null;
  readonly matches: EventPredicate;
}

/** Kibana filter objects: `{ meta: { negate, disabled }, query: {...} }`, or a bare clause. */
export function compileFilters(filters: readonly unknown[]): CompiledFilters {
  const must: Dsl[] = [];
  const mustNot: Dsl[] = [];
  const preds: { p: EventPredicate; negate: boolean }[] = [];
  filters.forEach((f, i) => {
    if (!isObject(f)) throw new FilterError(`filters[${i}] must be an object`);
    const meta = isObject(f.meta) ? f.meta : {};
    if (meta.disabled === true) return;
    const clause = isObject(f.query) ? f.query : Object.fromEntries(Object.entries(f).filter(([k]) => k !== 'meta' && k !== '$state'));
    let p: EventPredicate;
    try {
      p = compileDsl(clause);
    } catch (err) {
      throw new FilterError(`filters[${i}]: ${(err as Error).message}`);
    }
    const negate = meta.negate === true;
    (negate ? mustNot : must).push(clause);
    preds.push({ p, negate });
  });
  if (preds.length === 0) return { query: null, matches: () => true };
  return {
    query: { bool: { filter: must, must_not: mustNot } },
    matches: (doc) => preds.every(({ p, negate }) => p(doc) !== negate),
  };
}
