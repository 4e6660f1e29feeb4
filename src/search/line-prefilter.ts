/**
 * A necessary condition on an event's raw JSON text, read off a pushed-down query, so that
 * `lookout test-rule` parses only the lines that could match: a line that holds none of the
 * strings the query requires cannot be selected by it, and the query selects a superset of
 * what the rule accepts (search/pushdown.ts).
 *
 * Only string values become requirements, as the text JSON gives them (`JSON.stringify` without
 * the quotes): a `term` or `prefix` value, the literal pieces of a `wildcard` pattern; `terms`
 * is any of its values; `bool` filter/must are all of, should (with minimum_should_match 1) any
 * of; `must_not`, numbers, numeric-looking strings, ranges, exists, match queries and anything
 * else ask nothing, and so do fields starting with `_` (`_index` is not in an event's text).
 * Case-insensitive values are searched ignoring ASCII case.
 *
 * A line is always parsed when its text could spell a value another way: a `\u` or `\/` escape
 * (JSON allows either for any character), or, where a case-insensitive value was not found,
 * any character outside ASCII (JavaScript and Lucene fold those differently).
 */
import type { EsQuery } from './pushdown.js';

/** What a line must hold: true (nothing), a string, or all/any of several. */
type Need = true | { readonly lit: string; readonly ci: boolean } | { readonly all: readonly Need[] } | { readonly any: readonly Need[] };

/** `plain`: the caller knows the line is ASCII without `\u` or `\/` escapes. */
export type LineTest = (line: string, plain?: boolean) => boolean;

/** The test, or undefined when the query asks nothing of a line's text. */
export function linePrefilter(query: EsQuery | null): LineTest | undefined {
  const need = needOf(query);
  if (need === true) return undefined;
  const ci = hasCaseInsensitive(need);
  const holds = compile(need);
  return (line, plain = false) => {
    if (!plain && (line.includes('\\u') || line.includes('\\/'))) return true;
    if (holds(line)) return true;
    return ci && !plain && /[^\x00-\x7f]/.test(line);
  };
}

function all(needs: Need[]): Need {
  const rest = needs.filter((n) => n !== true);
  return rest.length === 0 ? true : rest.length === 1 ? rest[0] : { all: rest };
}

function any(needs: Need[]): Need {
  return needs.length === 0 || needs.some((n) => n === true) ? true : needs.length === 1 ? needs[0] : { any: needs };
}

function literal(value: unknown, ci: boolean): Need {
  if (typeof value !== 'string' || value === '' || /^[\s+\-.\deE]*$/.test(value)) return true;
  return { lit: JSON.stringify(value).slice(1, -1), ci };
}

/** The literal pieces of a wildcard pattern (`*` any run, `?` one character, `\` escapes). */
function wildcardPieces(pattern: string, ci: boolean): Need {
  const pieces: Need[] = [];
  let piece = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) piece += pattern[++i];
    else if (c === '*' || c === '?') {
      pieces.push(literal(piece, ci));
      piece = '';
    } else piece += c;
  }
  pieces.push(literal(piece, ci));
  return all(pieces);
}

/** `{field: value}` or `{field: {value|wildcard, case_insensitive}}` of a leaf query. */
function leaf(body: unknown): { field: string; value: unknown; ci: boolean } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const entries = Object.entries(body as Record<string, unknown>).filter(([k]) => k !== 'boost' && k !== '_name');
  if (entries.length !== 1) return undefined;
  const [field, spec] = entries[0];
  if (field.startsWith('_')) return undefined;
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const s = spec as Record<string, unknown>;
    return { field, value: s.value ?? s.wildcard, ci: s.case_insensitive === true };
  }
  return { field, value: spec, ci: false };
}

function needOf(q: unknown): Need {
  if (!q || typeof q !== 'object') return true;
  const query = q as Record<string, unknown>;
  const keys = Object.keys(query);
  if (keys.length !== 1) return true;
  const body = query[keys[0]];
  switch (keys[0]) {
    case 'bool': {
      const b = body as Record<string, unknown>;
      const list = (k: string): unknown[] => (Array.isArray(b[k]) ? (b[k] as unknown[]) : b[k] ? [b[k]] : []);
      const required = [...list('filter'), ...list('must')].map(needOf);
      const should = list('should');
      const msm = b.minimum_should_match;
      const shouldCounts = should.length > 0 && (msm === 1 || msm === '1' || (msm === undefined && required.length === 0));
      return all(shouldCounts ? [...required, any(should.map(needOf))] : required);
    }
    case 'term':
    case 'prefix': {
      const l = leaf(body);
      return l ? literal(l.value, l.ci) : true;
    }
    case 'wildcard': {
      const l = leaf(body);
      return l && typeof l.value === 'string' ? wildcardPieces(l.value, l.ci) : true;
    }
    case 'terms': {
      const l = leaf(body);
      return l && Array.isArray(l.value) ? any(l.value.map((v) => literal(v, false))) : true;
    }
    default:
      return true;
  }
}

function hasCaseInsensitive(n: Need): boolean {
  if (n === true) return false;
  if ('lit' in n) return n.ci;
  return ('all' in n ? n.all : n.any).some(hasCaseInsensitive);
}

function compile(n: Need): LineTest {
  if (n === true) return () => true;
  if ('lit' in n) {
    const { lit } = n;
    if (!n.ci) return (line) => line.includes(lit);
    const re = new RegExp(lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    return (line) => re.test(line);
  }
  const parts = ('all' in n ? n.all : n.any).map(compile);
  return 'all' in n ? (line) => parts.every((p) => p(line)) : (line) => parts.some((p) => p(line));
}
