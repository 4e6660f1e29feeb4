/**
 * Token types are data, as in acorn: a binary operator's token carries its precedence, so the
 * expression parser climbs precedence by reading the token rather than switching on it.
 */

export interface TokenType {
  readonly label: string;
  /** Binary precedence (higher binds tighter); undefined for non-binary tokens. */
  readonly binop?: number;
  readonly keyword?: boolean;
}

function tt(label: string, extra: Partial<TokenType> = {}): TokenType {
  return { label, ...extra };
}

export const types = {
  eof: tt('end of query'),
  name: tt('identifier'),
  quotedName: tt('quoted identifier'),
  string: tt('string'),
  number: tt('number'),
  parenL: tt('('),
  parenR: tt(')'),
  bracketL: tt('['),
  bracketR: tt(']'),
  comma: tt(','),
  dot: tt('.'),
  question: tt('?'),
  pipe: tt('|'),
  bang: tt('!'),
  assign: tt('='),
  tilde: tt('~'),
  colon: tt(':', { binop: 4 }),
  eq: tt('==', { binop: 4 }),
  neq: tt('!=', { binop: 4 }),
  lt: tt('<', { binop: 4 }),
  lte: tt('<=', { binop: 4 }),
  gt: tt('>', { binop: 4 }),
  gte: tt('>=', { binop: 4 }),
  plus: tt('+', { binop: 6 }),
  minus: tt('-', { binop: 6 }),
  star: tt('*', { binop: 7 }),
  slash: tt('/', { binop: 7 }),
  percent: tt('%', { binop: 7 }),
  // keywords
  _and: tt('and', { keyword: true, binop: 2 }),
  _or: tt('or', { keyword: true, binop: 1 }),
  _not: tt('not', { keyword: true }),
  _in: tt('in', { keyword: true, binop: 4 }),
  _like: tt('like', { keyword: true, binop: 4 }),
  _regex: tt('regex', { keyword: true, binop: 4 }),
  _where: tt('where', { keyword: true }),
  _sequence: tt('sequence', { keyword: true }),
  _sample: tt('sample', { keyword: true }),
  _by: tt('by', { keyword: true }),
  _with: tt('with', { keyword: true }),
  _until: tt('until', { keyword: true }),
  _any: tt('any', { keyword: true }),
  _true: tt('true', { keyword: true }),
  _false: tt('false', { keyword: true }),
  _null: tt('null', { keyword: true }),
} as const;

export const keywords: ReadonlyMap<string, TokenType> = new Map(
  Object.values(types)
    .filter((t) => t.keyword)
    .map((t) => [t.label, t]),
);

export interface Token {
  readonly type: TokenType;
  /** For names and strings: the decoded text; for numbers: the numeric value. */
  readonly value: string | number | null;
  readonly start: number;
  readonly end: number;
  /** For numbers: written with a decimal point or an exponent. */
  readonly float?: boolean;
  /** True when whitespace or a comment precedes this token (`30s` versus `30 s`). */
  readonly spaceBefore: boolean;
}
