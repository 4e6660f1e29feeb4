/** EQL syntax tree. Every node records where it starts and ends in the query text (offsets). */

export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Literal extends Span {
  readonly kind: 'literal';
  readonly value: string | number | boolean | null;
  /** A number written with a decimal point or exponent (a double in Elasticsearch). */
  readonly float?: boolean;
}

export interface FieldRef extends Span {
  readonly kind: 'field';
  /** Dotted path, e.g. `process.parent.name`. */
  readonly path: string;
  /** `?field`: a missing field is null rather than a verification error. */
  readonly optional: boolean;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface Compare extends Span {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
}

/** `:`, `like`, `like~`, `regex`, `regex~` against one pattern or a list of them. */
export interface Match extends Span {
  readonly kind: 'match';
  readonly op: ':' | 'like' | 'regex';
  readonly caseInsensitive: boolean;
  readonly value: Expr;
  readonly patterns: readonly Expr[];
}

export interface In extends Span {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly caseInsensitive: boolean;
  readonly value: Expr;
  readonly list: readonly Expr[];
}

export interface Logical extends Span {
  readonly kind: 'and' | 'or';
  readonly operands: readonly Expr[];
}

export interface Not extends Span {
  readonly kind: 'not';
  readonly operand: Expr;
}

export interface Arithmetic extends Span {
  readonly kind: 'arith';
  readonly op: '+' | '-' | '*' | '/' | '%';
  readonly left: Expr;
  readonly right: Expr;
}

export interface Negate extends Span {
  readonly kind: 'neg';
  readonly operand: Expr;
}

export interface Call extends Span {
  readonly kind: 'call';
  readonly name: string;
  readonly caseInsensitive: boolean;
  readonly args: readonly Expr[];
}

export type Expr = Literal | FieldRef | Compare | Match | In | Logical | Not | Arithmetic | Negate | Call;

export interface EventQuery extends Span {
  readonly kind: 'event';
  /** Event category, or null for `any`. */
  readonly category: string | null;
  readonly condition: Expr;
}

export interface SequenceStage extends Span {
  readonly query: EventQuery;
  readonly by: readonly FieldRef[];
  /** `with runs=N` */
  readonly runs: number;
  /** `![...]`: a missing event. */
  readonly missing: boolean;
}

export interface Pipe extends Span {
  readonly name: string;
  readonly args: readonly Expr[];
}

export interface SequenceQuery extends Span {
  readonly kind: 'sequence';
  readonly by: readonly FieldRef[];
  /** Milliseconds, or null when no maxspan was given. */
  readonly maxspanMs: number | null;
  readonly stages: readonly SequenceStage[];
  readonly until: SequenceStage | null;
  readonly pipes: readonly Pipe[];
}

export interface SampleQuery extends Span {
  readonly kind: 'sample';
  readonly by: readonly FieldRef[];
  readonly stages: readonly SequenceStage[];
  readonly pipes: readonly Pipe[];
}

export interface EventQueryStatement extends Span {
  readonly kind: 'query';
  readonly query: EventQuery;
  readonly pipes: readonly Pipe[];
}

export type Query = EventQueryStatement | SequenceQuery | SampleQuery;
