/**
 * Costly clauses decided on the window's own values. A wildcard or case-insensitive term on a
 * keyword field walks the whole index's term dictionary for that field (search/union.ts widen
 * says what that costs), whatever the window holds. The values a short window holds for those
 * fields are few and cheap to ask for (a terms aggregation over the window's documents, read
 * from doc values); each such clause is then decided here on each value, and becomes a `terms`
 * query of the values it matches (or `match_none`): exactly the documents of the window it
 * selected, at the price of a few term look-ups. So a shared read can select what its union
 * selects without paying its costly clauses (search/reader.ts `cheaperFirst`).
 *
 * Exact, because the values are all of the window's values for the field (the aggregation
 * reports none left out, else the field's clauses stay as they are: at most 10,000 values a
 * field, fewer when many fields share the cluster's bucket limit) and the matching is
 * Lucene's: `*` any string, `?` one code point, `\` escapes the next character; case-insensitive
 * only for ASCII patterns, which Lucene folds exactly as ASCII lower-casing does (a pattern with
 * other letters keeps its clause). The values must come from the same view of the indices as
 * the read (the reader asks through its point in time).
 */
import type { EsQuery } from './pushdown.js';

/** Values per field the aggregation may return; a field with more keeps its costly clauses. */
export const VALUES_LIMIT = 10_000;
/** Buckets over all fields, under the cluster's `search.max_buckets` (65,536 by default on 7.x). */
const BUCKETS_LIMIT = 40_000;

interface Leaf {
  readonly field: string;
  readonly test: (value: string) => boolean;
}

/** A clause this module can decide on values: a wildcard, or a case-insensitive term, on a string. */
function leafOf(q: EsQuery): Leaf | undefined {
  const keys = Object.keys(q);
  if (keys.length !== 1 || (keys[0] !== 'wildcard' && keys[0] !== 'term')) return undefined;
  const body = q[keys[0]];
  if (!body || typeof body !== 'object') return undefined;
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length !== 1) return undefined;
  const [field, spec] = entries[0];
  if (!spec || typeof spec !== 'object') return undefined;
  const { value, case_insensitive: ci = false, ...rest } = spec as { value?: unknown; case_insensitive?: unknown };
  if (typeof value !== 'string' || typeof ci !== 'boolean' || Object.keys(rest).length > 0) return undefined;
  if (keys[0] === 'term') {
    if (!ci || !isAscii(value)) return undefined;
    const want = asciiLower(value);
    return { field, test: (v) => v.length === value.length && asciiLower(v) === want };
  }
  if (ci && !isAscii(value)) return undefined;
  const re = wildcardRegExp(ci ? asciiLower(value) : value);
  return { field, test: ci ? (v) => re.test(asciiLower(v)) : (v) => re.test(v) };
}

/** The fields whose clauses in `q` could be decided on values (what to aggregate). */
export function decidableFields(q: EsQuery | null): string[] {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const leaf = leafOf(node as EsQuery);
    if (leaf) out.add(leaf.field);
    else for (const v of Object.values(node)) walk(v);
  };
  walk(q);
  return [...out];
}

/** The aggregations asking for the values of `fields` (named by index, field names may hold dots). */
export function valuesAggs(fields: readonly string[]): Record<string, EsQuery> {
  const size = Math.min(VALUES_LIMIT, Math.floor(BUCKETS_LIMIT / Math.max(1, fields.length)));
  // `map`: collected per document, no global ordinals to build for a few thousand documents.
  // shard_size = size: a shard with more values says so in sum_other_doc_count (valuesOf).
  return Object.fromEntries(fields.map((f, i) => [`v${i}`, { terms: { field: f, size, shard_size: size, execution_hint: 'map' } }]));
}

interface TermsAgg {
  buckets?: { key?: unknown; key_as_string?: unknown }[];
  sum_other_doc_count?: number;
}

/** The complete value lists in an answer to `valuesAggs(fields)`; fields with values left out are absent. */
export function valuesOf(fields: readonly string[], aggregations: Record<string, unknown> | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  fields.forEach((f, i) => {
    const agg = aggregations?.[`v${i}`] as TermsAgg | undefined;
    if (!agg?.buckets || (agg.sum_other_doc_count ?? 0) !== 0) return;
    const values: string[] = [];
    for (const b of agg.buckets) {
      if (typeof b.key !== 'string') return; // not a keyword's values: leave the field's clauses alone
      values.push(b.key);
    }
    out.set(f, values);
  });
  return out;
}

/**
 * `q` with each clause on a field of `values` replaced by the `terms` of the values it matches
 * (`match_none` when none does): the same documents among those the values were read from.
 * `left`: how many decidable clauses stayed (their field's values were not all known).
 */
export function decideOnValues(q: EsQuery, values: ReadonlyMap<string, readonly string[]>): { query: EsQuery; left: number } {
  let left = 0;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const leaf = leafOf(node as EsQuery);
    if (leaf) {
      const vs = values.get(leaf.field);
      if (!vs) {
        left++;
        return node;
      }
      const matched = vs.filter(leaf.test);
      return matched.length === 0 ? { match_none: {} } : { terms: { [leaf.field]: matched } };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return { query: walk(q) as EsQuery, left };
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Lower-cases ASCII letters only (what Lucene's case-insensitive matching of an ASCII pattern accepts). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Lucene's wildcard syntax as an anchored regular expression over code points. */
function wildcardRegExp(pattern: string): RegExp {
  let src = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '\\' && i + 1 < chars.length) src += escape(chars[++i]);
    else src += escape(c);
  }
  return new RegExp(`^${src}$`, 'su');
}

function escape(c: string): string {
  // The syntax characters (the only ones `u` lets be escaped).
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
