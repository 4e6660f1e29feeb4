/** ES|QL syntax tree. Every node records where it starts and ends in the query text (offsets). */

export interface Span {
  readonly start: number;
  readonly end: number;
}

export type LiteralValue = string | number | boolean | null;

export interface Literal extends Span {
  readonly kind: 'literal';
  readonly value: LiteralValue | readonly LiteralValue[];
  /** A number written with a decimal point or exponent (a double in Elasticsearch). */
  readonly double?: boolean;
}

/** `1 hour`, `24 hours`, `7d`: a time_duration (or a date_period for day and longer units). */
export interface TimeSpan extends Span {
  readonly kind: 'timespan';
  readonly amount: number;
  readonly unit: TimeUnit;
}

export type TimeUnit = 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

export interface FieldRef extends Span {
  readonly kind: 'field';
  /** Dotted column name, e.g. `process.parent.name` (backquoted parts joined as written). */
  readonly name: string;
}

export interface Call extends Span {
  readonly kind: 'call';
  /** Upper-cased function name. */
  readonly name: string;
  /** `COUNT(*)`. */
  readonly star: boolean;
  readonly args: readonly Expr[];
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/' | '%';

export interface Binary extends Span {
  readonly kind: 'compare' | 'arith';
  readonly op: CompareOp | ArithOp;
  readonly left: Expr;
  readonly right: Expr;
}

export interface Logical extends Span {
  readonly kind: 'and' | 'or';
  readonly left: Expr;
  readonly right: Expr;
}

export interface Not extends Span {
  readonly kind: 'not';
  readonly operand: Expr;
}

export interface Negate extends Span {
  readonly kind: 'neg';
  readonly operand: Expr;
}

/** `x LIKE "a*"`, `x NOT RLIKE "a.*"`, `x LIKE ("a*", "b*")`. */
export interface Like extends Span {
  readonly kind: 'like';
  readonly regex: boolean;
  readonly negated: boolean;
  readonly value: Expr;
  readonly patterns: readonly string[];
}

export interface In extends Span {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly value: Expr;
  readonly list: readonly Expr[];
}

export interface IsNull extends Span {
  readonly kind: 'isnull';
  readonly negated: boolean;
  readonly operand: Expr;
}

/** `x::long`. */
export interface Cast extends Span {
  readonly kind: 'cast';
  readonly operand: Expr;
  readonly type: string;
}

/** `{ "fuzziness": 1 }`: named options, the last argument of functions such as MATCH. */
export interface MapLiteral extends Span {
  readonly kind: 'map';
  readonly entries: ReadonlyMap<string, LiteralValue>;
}

export type Expr = Literal | TimeSpan | FieldRef | Call | Binary | Logical | Not | Negate | Like | In | IsNull | Cast | MapLiteral;

/** `name = expr`, or a bare `expr` whose column name is its source text. */
export interface Field extends Span {
  readonly name: string;
  readonly expr: Expr;
  /** STATS only: `... WHERE cond` filters the rows this aggregate sees. */
  readonly filter?: Expr;
}

export interface SortKey extends Span {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

export interface From extends Span {
  readonly kind: 'from';
  readonly sources: readonly string[];
  readonly metadata: readonly string[];
}
export interface Where extends Span { readonly kind: 'where'; readonly condition: Expr }
export interface Eval extends Span { readonly kind: 'eval'; readonly fields: readonly Field[] }
export interface Keep extends Span { readonly kind: 'keep' | 'drop'; readonly patterns: readonly string[] }
export interface Stats extends Span {
  readonly kind: 'stats';
  readonly inline: boolean;
  readonly aggregates: readonly Field[];
  readonly groups: readonly Field[];
}
export interface Sort extends Span { readonly kind: 'sort'; readonly keys: readonly SortKey[] }
export interface Grok extends Span { readonly kind: 'grok'; readonly input: Expr; readonly pattern: string; readonly patternStart: number }
export interface Dissect extends Span {
  readonly kind: 'dissect';
  readonly input: Expr;
  readonly pattern: string;
  readonly patternStart: number;
  readonly appendSeparator: string;
}
export interface MvExpand extends Span { readonly kind: 'mv_expand'; readonly column: string }
export interface Limit extends Span { readonly kind: 'limit'; readonly count: number }
export interface Rename extends Span { readonly kind: 'rename'; readonly pairs: readonly { readonly from: string; readonly to: string }[] }
/** A command Lookout parses past but cannot run (`COMPLETION`, `ENRICH`, `LOOKUP JOIN`, ...). */
export interface Unsupported extends Span { readonly kind: 'unsupported'; readonly name: string }

export type Command = From | Where | Eval | Keep | Stats | Sort | Grok | Dissect | MvExpand | Limit | Rename | Unsupported;

export interface Query extends Span {
  readonly commands: readonly Command[];
}
