/**
 * The query of a shared read: any of the rules' pushed-down queries. Written naively (one
 * `should` per rule) it grows with the rules, and the cluster pays for every clause: 50 variants
 * of one rule made the search four times slower than one rule's. So the union is flattened into
 * its alternatives, identical ones are merged, and an alternative that is another plus more
 * conditions (a narrower copy) is dropped, since the wider one already fetches its events, and
 * so is one that cannot match (`match_none` among its conditions: eql/pushdown.ts).
 * The result fetches exactly the same documents.
 */
import { clauses, type EsQuery } from './pushdown.js';

/** Over the clause limit (1,024 on 7.x) the union reads the window unfiltered (null). */
const LIMIT = 1000;

export function unionOf(queries: readonly (EsQuery | null)[]): EsQuery | null {
  if (queries.length === 1) return queries[0];
  if (queries.some((q) => q === null)) return null;
  const seen = new Map<string, { query: EsQuery; conjuncts: Set<string> }>();
  for (const q of queries as EsQuery[]) {
    for (const alt of alternatives(q)) {
      const key = canonical(alt);
      if (!seen.has(key)) seen.set(key, { query: alt, conjuncts: conjuncts(alt) });
    }
  }
  // An alternative with a `match_none` among its conditions (a rule that can never match here) selects nothing.
  const never = canonical({ match_none: {} });
  const all = [...seen.values()].filter((a) => !a.conjuncts.has(never));
  if (all.length === 0) return { match_none: {} };
  const kept = all.filter((a, i) => !all.some((b, j) => j !== i && subsetOf(b.conjuncts, a.conjuncts) && (b.conjuncts.size < a.conjuncts.size || j < i)));
  const union = kept.length === 1 ? kept[0].query : { bool: { should: kept.map((k) => k.query), minimum_should_match: 1 } };
  return clauses(union) <= LIMIT ? union : null;
}

/**
 * Rules whose queries do not fit one union share reads as far as they can: each query joins the
 * first read whose union stays within the clause limit (first fit), so fifty rules take a few
 * reads, not fifty, and no read goes unfiltered because the union grew too large. If a rule
 * reads everything (no query), one unfiltered read serves all.
 */
export function packReads(queries: readonly (EsQuery | null)[]): { members: number[]; query: EsQuery | null }[] {
  if (queries.length <= 1 || queries.some((q) => q === null)) return [{ members: queries.map((_, i) => i), query: unionOf(queries) }];
  // Usually everything fits one read: checked once, before any packing (which builds unions again and again).
  const all = unionOf(queries);
  if (all !== null) return [{ members: queries.map((_, i) => i), query: all }];
  const reads: { members: number[]; queries: EsQuery[] }[] = [];
  queries.forEach((q, i) => {
    const fits = reads.find((r) => unionOf([...r.queries, q as EsQuery]) !== null);
    if (fits) {
      fits.members.push(i);
      fits.queries.push(q as EsQuery);
    } else reads.push({ members: [i], queries: [q as EsQuery] });
  });
  return reads.map((r) => ({ members: r.members, query: unionOf(r.queries) }));
}

function boolOf(q: EsQuery): Record<string, unknown> | undefined {
  const b = q.bool;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : undefined;
}

/** `a or b or ...`: the `should` items of a pure disjunction, flattened; else the query itself. */
function alternatives(q: EsQuery): EsQuery[] {
  const b = boolOf(q);
  if (b && Array.isArray(b.should) && b.minimum_should_match === 1 && Object.keys(b).every((k) => k === 'should' || k === 'minimum_should_match')) {
    return (b.should as EsQuery[]).flatMap(alternatives);
  }
  return [q];
}

/** `a and b and ...`: the conditions of nested `filter`/`must` lists, each in canonical text. */
function conjuncts(q: EsQuery): Set<string> {
  const b = boolOf(q);
  if (b && Object.keys(b).every((k) => k === 'filter' || k === 'must')) {
    const out = new Set<string>();
    for (const k of ['filter', 'must']) {
      const items = b[k];
      for (const item of Array.isArray(items) ? items : items ? [items] : []) for (const c of conjuncts(item as EsQuery)) out.add(c);
    }
    return out;
  }
  return new Set([canonical(q)]);
}

function subsetOf(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size > b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** JSON with object keys sorted, so equal queries have equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A cheaper superset of a query: clauses the cluster pays for by scanning its term dictionary
 * (wildcard, regexp, prefix, fuzzy, query_string, case-insensitive terms) are left out of
 * conjunctions, a disjunction with an alternative left empty matches everything, and a
 * negation that holds one is dropped. Every document the query matches, this matches too; the
 * evaluators check every event anyway. Null: the whole window.
 *
 * Why these (measured on the benchmark's 1 M-event day, the union of figure 4b's 50 rules over
 * its 9-minute window of 6,286 events, Elasticsearch 7.17, `took` of a size-0 search): the union
 * took 891 ms (load ~13 on 2 cores) and selected all 6,286 events, since some rules take every
 * process event; its 34 distinct case-insensitive terms alone took 418 ms, its 44
 * case-insensitive wildcards with a leading `*` 148 ms, its 13 without one (`foo*`) 74 ms, while
 * its 20 plain terms took 16 ms, 4 `terms` 5 ms and 4 `exists` 1 ms. A term-dictionary clause
 * costs the same whatever the window holds (it walks the whole index's terms for the field, a
 * day of them here, ten times more at 10 M), so in a short window it costs far more than the
 * documents it keeps on the server: the widened union took 63 ms for the same 6,286 hits. A
 * prefix (`foo*`) is not cheap either: case-insensitive, it is an automaton over the dictionary
 * like any other. When the widened query is used: see search/reader.ts `cheaperFirst` (shared
 * reads whose widened count fits a page, when the window's values could not decide the costly
 * clauses: search/window-values.ts). Since fields no index maps are taken as absent
 * (eql/pushdown.ts), that union selects 764 events, not 6,286; its costly clauses still took
 * 0.7-1 s a search (load ~11), the search for the window's values that decides them 9-83 ms.
 */
export function widen(q: EsQuery | null): EsQuery | null {
  if (q === null) return null;
  const b = boolOf(q);
  if (!b) return isCostly(q) ? null : q;
  const out: Record<string, unknown> = {};
  for (const k of ['filter', 'must']) {
    const items = listOf(b[k]).map(widen).filter((x): x is EsQuery => x !== null);
    if (items.length > 0) out[k] = items;
  }
  const should = listOf(b.should);
  const msm = b.minimum_should_match;
  // Without filter or must, or with minimum_should_match, one alternative at least must match.
  const required = msm !== undefined ? Number(msm) >= 1 : b.filter === undefined && b.must === undefined;
  if (should.length > 0 && required) {
    const alts = should.map(widen);
    if (!alts.includes(null)) {
      out.should = alts;
      out.minimum_should_match = 1;
    }
  }
  const mustNot = listOf(b.must_not).filter((x) => !hasCostly(x));
  if (mustNot.length > 0) out.must_not = mustNot;
  return Object.keys(out).length === 0 ? null : { bool: out };
}

const COSTLY = new Set(['wildcard', 'regexp', 'prefix', 'fuzzy', 'query_string', 'simple_query_string']);

/** A clause the cluster answers by walking the field's term dictionary (see widen). */
export function isCostly(q: EsQuery): boolean {
  return Object.entries(q).some(([kind, body]) => COSTLY.has(kind)
    || ((kind === 'term' || kind === 'terms') && body !== null && typeof body === 'object'
      && Object.values(body as Record<string, unknown>).some((v) => v !== null && typeof v === 'object' && (v as { case_insensitive?: unknown }).case_insensitive === true)));
}

function hasCostly(q: EsQuery): boolean {
  const b = boolOf(q);
  if (!b) return isCostly(q);
  return ['filter', 'must', 'should', 'must_not'].some((k) => listOf(b[k]).some(hasCostly));
}

function listOf(v: unknown): EsQuery[] {
  return Array.isArray(v) ? (v as EsQuery[]) : v && typeof v === 'object' ? [v as EsQuery] : [];
}
