/**
 * From KQL text to a read-only compiled query: the tree, the fields it names (for `_field_caps`
 * and `_source` filtering; wildcard names as written, which `_field_caps` expands), the
 * translation to query DSL given field types, and the in-memory matcher. Shaped to be wrapped
 * by the language seam: nothing here knows rules, indices or clients.
 */
import type { FieldTypes } from '../search/field-caps.js';
import type { EsQuery } from '../search/pushdown.js';
import { fieldText, isLoneWildcard, type KqlNode } from './ast.js';
import { compileMatcher, type KqlEvalOptions, type KqlMatcher } from './evaluate.js';
import { parseKql } from './parser.js';
import { toDsl, type KqlDslOptions } from './translate.js';

export interface KqlSource {
  /** The rule file, for error locations. */
  readonly file?: string;
  /** The line of the file where the query text starts (1-based; default 1). */
  readonly line?: number;
}

export interface CompiledKql {
  readonly language: 'kuery';
  readonly source: string;
  readonly ast: KqlNode;
  /** Every field name the query uses, full (nested paths included), sorted; wildcard names as written. */
  readonly fields: readonly string[];
  /**
   * Whether the query has field-less terms, which search every field: their verdict needs the
   * types of all fields (`_field_caps` with `*`), not only of `fields`.
   */
  readonly searchesAllFields: boolean;
  /** The query DSL Kibana would send, for these field types. */
  toDsl(types: FieldTypes, options?: KqlDslOptions): EsQuery;
  /** A matcher for these field types (or none: values compare as they are, all approximate). */
  matcher(options?: KqlEvalOptions): KqlMatcher;
  /** One verdict; builds a matcher per call, so use `matcher` for many documents. */
  matches(source: unknown, types?: FieldTypes): boolean;
}

function collectFields(node: KqlNode, prefix: string | null, out: Set<string>): boolean {
  const full = (name: string) => (prefix === null ? name : `${prefix}.${name}`);
  switch (node.kind) {
    case 'match_all':
      return false;
    case 'and':
    case 'or':
      return node.children.map((c) => collectFields(c, prefix, out)).some(Boolean);
    case 'not':
      return collectFields(node.child, prefix, out);
    case 'nested': {
      const path = full(fieldText(node.path));
      out.add(path);
      return collectFields(node.query, path, out);
    }
    case 'range':
      out.add(full(fieldText(node.field)));
      return false;
    case 'is':
      if (node.field === null) return true;
      // `*:*` is match_all; `*:x` names every field, which `_field_caps` expands from `*`.
      if (!(isLoneWildcard(node.field) && isLoneWildcard(node.value))) out.add(full(fieldText(node.field)));
      return false;
  }
}

export function compileKql(source: string, where: KqlSource = {}): CompiledKql {
  const ast = parseKql(source, { file: where.file, line: where.line });
  const set = new Set<string>();
  const searchesAllFields = collectFields(ast, null, set);
  const fields = Object.freeze([...set].sort());
  return Object.freeze({
    language: 'kuery' as const,
    source,
    ast,
    fields,
    searchesAllFields,
    toDsl: (types: FieldTypes, options?: KqlDslOptions) => toDsl(ast, types, options),
    matcher: (options?: KqlEvalOptions) => compileMatcher(ast, options),
    matches: (doc: unknown, types?: FieldTypes) => compileMatcher(ast, { types }).matches(doc),
  });
}
