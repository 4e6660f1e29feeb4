/**
 * KQL to query DSL as Kibana builds it (`@kbn/es-query` kuery functions `and`, `or`, `not`,
 * `is`, `range`, `nested`, with the detection engine's options: `dateFormatTZ: 'Zulu'`, no
 * `caseInsensitive`), given the field types of the target indices from `_field_caps`:
 * - `f:v` on a field mapped only as `keyword` is a `term`; on a `date` field a `range` with
 *   `gte` and `lte` both `v` (and the time zone); on any other field `match`, or `match_phrase`
 *   when quoted. A field the types do not know is sent as written with no type (so `match`).
 * - `f:a*b` is a `wildcard` query on a keyword-only field, a `query_string` elsewhere, its
 *   value escaped for query strings (`?` is escaped: it is no wildcard in KQL). `f:*` is `exists`.
 * - A wildcard field name (`process.*:x`) stands for every known field it matches, each wrapped
 *   in `nested` when it sits under a nested field; `*:*` and the empty query are `match_all`.
 * - A field-less value is a `multi_match` (lenient, `phrase` when quoted) over all fields, or a
 *   `query_string` when it has a wildcard.
 * - `and` is `bool.filter`, `or` is `bool.should` with `minimum_should_match: 1`, `not` is
 *   `bool.must_not`, `f:{...}` is `nested` (score_mode none) with the inner field names prefixed.
 * One deviation: Kibana turns `f:*` into `match_all` when `f` matches every field of the data
 * view, which with a data view built from the rule's own fields would drop the condition; here
 * it stays an `exists`.
 */
import type { FieldTypes } from '../search/field-caps.js';
import type { EsQuery } from '../search/pushdown.js';
import { fieldText, isLoneWildcard, isWildcard, valueText, type FieldName, type KqlNode, type Value } from './ast.js';

export interface KqlDslOptions {
  /**
   * Kibana's `dateFormatTZ`, the `time_zone` of date ranges. Default `Zulu`, as the detection
   * engine sets it; the evaluator reads dates without a zone as UTC, so keep the default there.
   */
  readonly timeZone?: string;
  /** Kibana's `caseInsensitive` for `term` and `wildcard` on keyword fields. Default unset (the detection engine leaves it unset). */
  readonly caseInsensitive?: boolean;
  /**
   * Kibana's `nestedIgnoreUnmapped`: `ignore_unmapped` on nested queries, so an index without the
   * nested mapping matches nothing instead of failing the search. Default unset (the detection
   * engine leaves it unset; Kibana's UI sets it).
   */
  readonly nestedIgnoreUnmapped?: boolean;
}

/** A field the query names, as the translation and the evaluator see it. */
export interface ResolvedField {
  readonly name: string;
  /** Its types in the target indices (without `unmapped`); empty when the types do not know it. */
  readonly esTypes: readonly string[];
  /** The nearest enclosing `nested` field, for a field found through a wildcard name. */
  readonly nestedParent: string | null;
}

const CONTAINERS = new Set(['object', 'nested']);
const QUERY_STRING_RESERVED = /[+-=&|><!(){}[\]^"~*?:\\/]/g; // `+-=` is a range, as in Kibana: it escapes digits, `.`, `,` too

export function esTypesOf(types: FieldTypes, name: string): string[] {
  return [...(types.get(name) ?? [])].filter((t) => t !== 'unmapped');
}

function isLeaf(types: FieldTypes, name: string): boolean {
  const t = esTypesOf(types, name);
  return t.length > 0 && !t.every((x) => CONTAINERS.has(x));
}

function nestedParentOf(types: FieldTypes, name: string): string | null {
  const parts = name.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const parent = parts.slice(0, i).join('.');
    if (types.get(parent)?.has('nested')) return parent;
  }
  return null;
}

/** Kibana's wildcard test on names: `*` is any run of characters. */
export function wildcardRegExp(parts: readonly string[]): RegExp {
  return new RegExp(`^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`);
}

/** The full name of a field inside `nested` paths (Kibana's getFullFieldNameNode). */
export function fullFieldName(field: FieldName, nestedPath: string | null): FieldName {
  if (nestedPath === null) return field;
  const parts = [`${nestedPath}.${field.parts[0]}`, ...field.parts.slice(1)];
  return { ...field, parts, literal: parts.join('*') };
}

/** The fields a name stands for (Kibana's getFields): the known leaf fields it names or matches, sorted. */
export function resolveFields(field: FieldName, types: FieldTypes): ResolvedField[] {
  if (!isWildcard(field)) {
    const name = fieldText(field);
    return isLeaf(types, name) ? [{ name, esTypes: esTypesOf(types, name), nestedParent: null }] : [];
  }
  const re = wildcardRegExp(field.parts);
  return [...types.keys()]
    .filter((name) => re.test(name) && isLeaf(types, name))
    .sort()
    .map((name) => ({ name, esTypes: esTypesOf(types, name), nestedParent: nestedParentOf(types, name) }));
}

/** The fields to query: the resolved ones, or the name as written with no type (Kibana's fallback). */
function fieldsFor(field: FieldName, types: FieldTypes): ResolvedField[] {
  const found = resolveFields(field, types);
  return found.length > 0 ? found : [{ name: fieldText(field), esTypes: [], nestedParent: null }];
}

export function isKeywordOnly(f: ResolvedField): boolean {
  return f.esTypes.length === 1 && f.esTypes[0] === 'keyword';
}

export function isDate(f: ResolvedField): boolean {
  return f.esTypes.length > 0 && f.esTypes.every((t) => t === 'date' || t === 'date_nanos');
}

export function toQueryString(v: Value): string {
  return v.parts.map((p) => p.replace(QUERY_STRING_RESERVED, '\\$&')).join('*');
}

/** The value Kibana sends: the literal (string, boolean or null), or the wildcard text. */
function esValue(v: Value): string | boolean | null {
  return isWildcard(v) ? valueText(v) : v.literal;
}

export function toDsl(node: KqlNode, types: FieldTypes, options: KqlDslOptions = {}): EsQuery {
  return new Translator(types, options).query(node, null);
}

class Translator {
  private readonly timeZone: string;
  constructor(private readonly types: FieldTypes, private readonly options: KqlDslOptions) {
    this.timeZone = options.timeZone ?? 'Zulu';
  }

  private caseFlag(): Record<string, boolean> {
    return typeof this.options.caseInsensitive === 'boolean' ? { case_insensitive: this.options.caseInsensitive } : {};
  }

  private ignoreUnmapped(): Record<string, boolean> {
    return typeof this.options.nestedIgnoreUnmapped === 'boolean' ? { ignore_unmapped: this.options.nestedIgnoreUnmapped } : {};
  }

  private wrap(field: FieldName, f: ResolvedField, nestedPath: string | null, q: EsQuery): EsQuery {
    if (!isWildcard(field) || f.nestedParent === null || nestedPath !== null) return q;
    return { nested: { path: f.nestedParent, query: q, score_mode: 'none', ...this.ignoreUnmapped() } };
  }

  query(node: KqlNode, nestedPath: string | null): EsQuery {
    switch (node.kind) {
      case 'match_all':
        return { match_all: {} };
      case 'and':
        return { bool: { filter: node.children.map((c) => this.query(c, nestedPath)) } };
      case 'or':
        return { bool: { should: node.children.map((c) => this.query(c, nestedPath)), minimum_should_match: 1 } };
      case 'not':
        return { bool: { must_not: this.query(node.child, nestedPath) } };
      case 'nested': {
        const path = nestedPath === null ? fieldText(node.path) : `${nestedPath}.${fieldText(node.path)}`;
        return { nested: { path, query: this.query(node.query, path), score_mode: 'none', ...this.ignoreUnmapped() } };
      }
      case 'range': {
        const field = fullFieldName(node.field, nestedPath);
        const should = fieldsFor(field, this.types).map((f) => {
          const params = { [node.op]: esValue(node.value), ...(isDate(f) ? { time_zone: this.timeZone } : {}) };
          return this.wrap(field, f, nestedPath, { range: { [f.name]: params } });
        });
        return { bool: { should, minimum_should_match: 1 } };
      }
      case 'is':
        return this.is(node.field, node.value, nestedPath);
    }
  }

  private is(fieldArg: FieldName | null, value: Value, nestedPath: string | null): EsQuery {
    const exists = isLoneWildcard(value);
    if (exists && fieldArg !== null && isLoneWildcard(fieldArg)) return { match_all: {} };
    if (fieldArg === null) {
      if (isWildcard(value)) return { query_string: { query: toQueryString(value) } };
      return { multi_match: { type: value.quoted ? 'phrase' : 'best_fields', query: value.literal, lenient: true } };
    }
    const field = fullFieldName(fieldArg, nestedPath);
    const should = fieldsFor(field, this.types).map((f) => {
      let q: EsQuery;
      if (exists) q = { exists: { field: f.name } };
      else if (isWildcard(value)) {
        q = isKeywordOnly(f)
          ? { wildcard: { [f.name]: { value: toQueryString(value), ...this.caseFlag() } } }
          : { query_string: { fields: [f.name], query: toQueryString(value) } };
      } else if (isDate(f)) {
        q = { range: { [f.name]: { gte: value.literal, lte: value.literal, time_zone: this.timeZone } } };
      } else if (isKeywordOnly(f)) {
        q = { term: { [f.name]: { value: value.literal, ...this.caseFlag() } } };
      } else {
        q = { [value.quoted ? 'match_phrase' : 'match']: { [f.name]: value.literal } };
      }
      return this.wrap(field, f, nestedPath, q);
    });
    return { bool: { should, minimum_should_match: 1 } };
  }
}
