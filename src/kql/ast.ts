/**
 * The KQL syntax tree, shaped as Kibana's (`@kbn/es-query` kuery nodes): a value list
 * `f:(a or b)` is already expanded into `or(is(f, a), is(f, b))`, as Kibana's grammar does, so
 * the translation and the evaluator see only the functions `and`, `or`, `not`, `nested`, `is`
 * and `range`. Every node carries its offsets in the query text (`start` inclusive, `end`
 * exclusive).
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * An unquoted or quoted value. `parts` splits it at its unescaped `*` wildcards: one part means
 * no wildcard (an escaped `\*` is a literal star and stays inside a part). `?` is never a
 * wildcard in KQL. Unquoted `true`, `false` and `null` are Kibana's non-string literals.
 */
export interface Value extends Span {
  readonly kind: 'value';
  readonly parts: readonly string[];
  readonly quoted: boolean;
  readonly literal: string | boolean | null;
}

/** A field name: a value (quoted or not), possibly with wildcards (`process.*`). */
export type FieldName = Value;

export type RangeOp = 'gt' | 'gte' | 'lt' | 'lte';

export interface IsNode extends Span {
  readonly kind: 'is';
  /** null: a field-less term (`value` alone searches every field). */
  readonly field: FieldName | null;
  readonly value: Value;
}

export interface RangeNode extends Span {
  readonly kind: 'range';
  readonly field: FieldName;
  readonly op: RangeOp;
  readonly value: Value;
}

export interface BoolNode extends Span {
  readonly kind: 'and' | 'or';
  readonly children: readonly KqlNode[];
}

export interface NotNode extends Span {
  readonly kind: 'not';
  readonly child: KqlNode;
}

export interface NestedNode extends Span {
  readonly kind: 'nested';
  readonly path: FieldName;
  readonly query: KqlNode;
}

/** The empty query (Kibana's `is(*, *)`): every document. */
export interface MatchAllNode extends Span {
  readonly kind: 'match_all';
}

export type KqlNode = IsNode | RangeNode | BoolNode | NotNode | NestedNode | MatchAllNode;

export function isWildcard(v: Value): boolean {
  return v.parts.length > 1;
}

/** `*` alone. */
export function isLoneWildcard(v: Value): boolean {
  return v.parts.length === 2 && v.parts[0] === '' && v.parts[1] === '';
}

/** The value as text (wildcards as `*`): the string Kibana sends for a literal. */
export function valueText(v: Value): string {
  return v.parts.join('*');
}

/** A field name as text (`true`/`false`/`null` as written). */
export function fieldText(f: FieldName): string {
  return valueText(f);
}
