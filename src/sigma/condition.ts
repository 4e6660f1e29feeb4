/**
 * Sigma detection conditions: `selection and not 1 of filter_*`, with `and`, `or`, `not`,
 * parentheses, `1 of <pattern>`, `all of <pattern>`, `1 of them`, `all of them`, and the
 * deprecated aggregation after a pipe: `| count(Field) by Group > 30` (also min, max, avg,
 * sum). Errors carry the column in the condition text.
 */
export type Condition =
  | { readonly kind: 'id'; readonly name: string; readonly column: number }
  | { readonly kind: 'and' | 'or'; readonly items: readonly Condition[] }
  | { readonly kind: 'not'; readonly item: Condition }
  | { readonly kind: 'of'; readonly quantifier: 'one' | 'all'; readonly pattern: string; readonly column: number };

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

export interface Aggregation {
  readonly fn: 'count' | 'min' | 'max' | 'avg' | 'sum';
  /** count(field): distinct values of the field; count(): events. */
  readonly field?: string;
  readonly groupBy: readonly string[];
  readonly op: CompareOp;
  readonly value: number;
}

export class ConditionError extends Error {
  constructor(message: string, readonly column: number) {
    super(`${message} (column ${column})`);
  }
}

interface Tok {
  readonly text: string;
  readonly column: number;
}

function tokenize(text: string, offset: number): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(\(|\)|[^\s()]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[1] === undefined) break;
    out.push({ text: m[1], column: offset + m.index + m[0].length - m[1].length + 1 });
    if (re.lastIndex >= text.length) break;
  }
  return out;
}

export function parseCondition(source: string): { condition: Condition; aggregation?: Aggregation } {
  const pipe = source.indexOf('|');
  const main = pipe < 0 ? source : source.slice(0, pipe);
  const tokens = tokenize(main, 0);
  let i = 0;
  const peek = () => tokens[i];
  const lower = (t?: Tok) => t?.text.toLowerCase();
  const fail = (message: string, column = peek()?.column ?? main.trimEnd().length + 1): never => {
    throw new ConditionError(message, column);
  };

  const parseOr = (): Condition => {
    const items = [parseAnd()];
    while (lower(peek()) === 'or') {
      i++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  };
  const parseAnd = (): Condition => {
    const items = [parseNot()];
    while (lower(peek()) === 'and') {
      i++;
      items.push(parseNot());
    }
    return items.length === 1 ? items[0] : { kind: 'and', items };
  };
  const parseNot = (): Condition => {
    if (lower(peek()) === 'not') {
      i++;
      return { kind: 'not', item: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Condition => {
    const t = peek();
    if (!t) return fail('expected a search identifier, not, 1 of, all of or (');
    if (t.text === '(') {
      i++;
      const inner = parseOr();
      if (peek()?.text !== ')') fail("expected ')'");
      i++;
      return inner;
    }
    const word = lower(t);
    if ((word === '1' || word === 'all' || word === 'any') && lower(tokens[i + 1]) === 'of') {
      const target = tokens[i + 2];
      if (!target || target.text === '(' || target.text === ')') fail(`expected a search identifier pattern or them after '${t.text} of'`, target?.column);
      i += 3;
      return { kind: 'of', quantifier: word === 'all' ? 'all' : 'one', pattern: target.text, column: t.column };
    }
    if (['and', 'or', 'not', ')', 'of'].includes(word ?? '')) fail(`unexpected '${t.text}'`);
    i++;
    return { kind: 'id', name: t.text, column: t.column };
  };

  const condition = parseOr();
  if (i < tokens.length) fail(`unexpected '${tokens[i].text}'`);
  if (pipe < 0) return { condition };
  const agg = source.slice(pipe + 1).trim();
  const m = /^(count|min|max|avg|sum)\(\s*([\w.]*)\s*\)\s*(?:by\s+([\w.]+(?:\s*,\s*[\w.]+)*))?\s*(<=|>=|<|>|==|=|!=)\s*(-?\d+(?:\.\d+)?)$/i.exec(agg);
  if (!m) throw new ConditionError(`expected an aggregation like 'count(Field) by Group > 10' after '|', found '${agg}'`, pipe + 2);
  const ops: Record<string, CompareOp> = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte', '=': 'eq', '==': 'eq', '!=': 'neq' };
  const fn = m[1].toLowerCase() as Aggregation['fn'];
  if (fn !== 'count' && !m[2]) throw new ConditionError(`${fn}() needs a field`, pipe + 2);
  return {
    condition,
    aggregation: { fn, field: m[2] || undefined, groupBy: m[3] ? m[3].split(',').map((s) => s.trim()) : [], op: ops[m[4]], value: Number(m[5]) },
  };
}

export function compare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case 'gt': return a > b;
    case 'gte': return a >= b;
    case 'lt': return a < b;
    case 'lte': return a <= b;
    case 'eq': return a === b;
    case 'neq': return a !== b;
  }
}
