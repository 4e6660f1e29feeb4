/**
 * EQL parser: recursive descent over the tokens of `lexer.ts`, one method per grammar rule, in
 * the grammar of Elasticsearch's EqlBase.g4. Every node gets its span and every error goes
 * through `raise`, which appends `(line:col)`. Boolean operators bind loosest (`or` < `and` <
 * `not`), then comparisons and the predicates `:`, `like`, `regex`, `in`, then arithmetic,
 * whose precedence is read from the token (see tokens.ts).
 */
import { EqlSyntaxError } from '../errors.js';
import type {
  Call, CompareOp, EventQuery, Expr, FieldRef, Literal, Pipe, Query, SequenceStage,
} from './ast.js';
import { Lexer } from './lexer.js';
import { type Token, type TokenType, types } from './tokens.js';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const COMPARE_OPS: ReadonlyMap<TokenType, CompareOp> = new Map<TokenType, CompareOp>([
  [types.eq, '=='], [types.neq, '!='], [types.lt, '<'], [types.lte, '<='], [types.gt, '>'], [types.gte, '>='],
]);
const ARITH_OPS: ReadonlyMap<TokenType, '+' | '-' | '*' | '/' | '%'> = new Map([
  [types.plus, '+'], [types.minus, '-'], [types.star, '*'], [types.slash, '/'], [types.percent, '%'],
] as const);

export function parseEql(source: string): Query {
  return new Parser(source).parseQuery();
}

class Parser {
  private readonly lexer: Lexer;
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly source: string) {
    this.lexer = new Lexer(source);
    this.tokens = this.lexer.tokenize();
  }

  private get tok(): Token {
    return this.tokens[this.index];
  }

  private peek(n = 1): Token {
    return this.tokens[Math.min(this.index + n, this.tokens.length - 1)];
  }

  private advance(): Token {
    const t = this.tokens[this.index];
    if (this.index < this.tokens.length - 1) this.index++;
    return t;
  }

  private eat(type: TokenType): boolean {
    if (this.tok.type === type) {
      this.advance();
      return true;
    }
    return false;
  }

  private raise(offset: number, message: string): never {
    return this.lexer.raise(offset, message);
  }

  private describe(t: Token): string {
    if (t.type === types.eof) return 'end of query';
    return `'${this.source.slice(t.start, t.end)}'`;
  }

  private unexpected(expected: string): never {
    this.raise(this.tok.start, `Expected ${expected} but found ${this.describe(this.tok)}`);
  }

  private expect(type: TokenType, what = `'${type.label}'`): Token {
    if (this.tok.type !== type) this.unexpected(what);
    return this.advance();
  }

  private get prevEnd(): number {
    return this.tokens[Math.max(0, this.index - 1)].end;
  }

  parseQuery(): Query {
    const start = this.tok.start;
    let query: Query;
    if (this.tok.type === types._sequence) query = this.parseSequence();
    else if (this.tok.type === types._sample) query = this.parseSample();
    else {
      const q = this.parseEventQuery();
      query = { kind: 'query', query: q, pipes: this.parsePipes(), start, end: this.prevEnd };
    }
    if (this.tok.type !== types.eof) this.unexpected('end of query');
    return query;
  }

  private parseSequence(): Query {
    const start = this.advance().start;
    let by: FieldRef[] = [];
    let maxspanMs: number | null = null;
    if (this.eat(types._by)) {
      by = this.parseJoinKeys();
      if (this.tok.type === types._with) maxspanMs = this.parseMaxspan();
    } else if (this.tok.type === types._with) {
      maxspanMs = this.parseMaxspan();
      if (this.eat(types._by)) by = this.parseJoinKeys();
    }
    const stages: SequenceStage[] = [];
    while (this.tok.type === types.bracketL || (this.tok.type === types.bang && this.peek().type === types.bracketL)) {
      stages.push(this.parseStage(true));
    }
    if (stages.reduce((n, s) => n + s.runs, 0) < 2) {
      this.unexpected(stages.length === 0 ? "'[' to start the first sequence stage" : "'[' (a sequence needs at least two stages)");
    }
    let until: SequenceStage | null = null;
    if (this.tok.type === types._until) {
      this.advance();
      until = this.parseStage(false);
    }
    const pipes = this.parsePipes();
    return { kind: 'sequence', by, maxspanMs, stages, until, pipes, start, end: this.prevEnd };
  }

  private parseSample(): Query {
    const start = this.advance().start;
    let by: FieldRef[] = [];
    if (this.eat(types._by)) by = this.parseJoinKeys();
    const stages: SequenceStage[] = [];
    while (this.tok.type === types.bracketL) stages.push(this.parseStage(false));
    if (stages.length < 1) this.unexpected("'[' to start a sample filter");
    const pipes = this.parsePipes();
    return { kind: 'sample', by, stages, pipes, start, end: this.prevEnd };
  }

  private parseMaxspan(): number {
    this.expect(types._with);
    const name = this.expect(types.name, "'maxspan'");
    if (String(name.value).toLowerCase() !== 'maxspan') this.raise(name.start, `Expected 'maxspan' but found '${name.value}'`);
    this.expect(types.assign, "'=' after maxspan");
    return this.parseDuration();
  }

  private parseDuration(): number {
    const num = this.expect(types.number, 'a duration such as 30s');
    const unitTok = this.tok;
    if (unitTok.type !== types.name) {
      this.raise(unitTok.start, `Expected a time unit (ms, s, m, h, d) after ${num.value} but found ${this.describe(unitTok)}`);
    }
    const factor = DURATION_UNITS[String(unitTok.value).toLowerCase()];
    if (factor === undefined) this.raise(unitTok.start, `Unknown time unit '${unitTok.value}'; expected ms, s, m, h or d`);
    this.advance();
    return (num.value as number) * factor;
  }

  private parseStage(allowMissing: boolean): SequenceStage {
    const start = this.tok.start;
    let missing = false;
    if (this.tok.type === types.bang) {
      if (!allowMissing) this.raise(this.tok.start, 'Missing events (![...]) are only allowed in sequences');
      this.advance();
      missing = true;
    }
    this.expect(types.bracketL);
    const query = this.parseEventQuery();
    this.expect(types.bracketR, "']' to close the stage");
    let by: FieldRef[] = [];
    let runs = 1;
    if (this.eat(types._by)) by = this.parseJoinKeys();
    if (this.tok.type === types._with && this.peek().type === types.name && String(this.peek().value).toLowerCase() === 'runs') {
      this.advance();
      this.advance();
      this.expect(types.assign, "'=' after runs");
      const n = this.expect(types.number, 'a number of runs');
      const value = n.value as number;
      if (!Number.isInteger(value) || value < 1 || value > 100) this.raise(n.start, `runs must be an integer from 1 to 100, found ${value}`);
      runs = value;
    }
    return { query, by, runs, missing, start, end: this.prevEnd };
  }

  private parseJoinKeys(): FieldRef[] {
    const keys: FieldRef[] = [];
    do {
      const expr = this.parseArithmetic();
      if (expr.kind !== 'field') this.raise(expr.start, 'Join keys must be field names');
      keys.push(expr);
    } while (this.eat(types.comma));
    return keys;
  }

  private parsePipes(): Pipe[] {
    const pipes: Pipe[] = [];
    while (this.tok.type === types.pipe) {
      const start = this.advance().start;
      const name = this.expect(types.name, 'a pipe name');
      const args: Expr[] = [];
      while (this.tok.type !== types.pipe && this.tok.type !== types.eof) {
        args.push(this.parseArithmetic());
        if (!this.eat(types.comma)) break;
      }
      pipes.push({ name: String(name.value).toLowerCase(), args, start, end: this.prevEnd });
    }
    return pipes;
  }

  private parseEventQuery(): EventQuery {
    const start = this.tok.start;
    let category: string | null;
    if (this.tok.type === types._any) {
      this.advance();
      category = null;
    } else if (this.tok.type === types.name || this.tok.type === types.string || this.tok.type === types.quotedName) {
      category = String(this.advance().value);
    } else {
      this.unexpected("an event category (such as process, network or any)");
    }
    this.expect(types._where, "'where'");
    const condition = this.parseExpression();
    return { kind: 'event', category, condition, start, end: this.prevEnd };
  }

  parseExpression(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    const first = this.parseAnd();
    if (this.tok.type !== types._or) return first;
    const operands = [first];
    while (this.eat(types._or)) operands.push(this.parseAnd());
    return { kind: 'or', operands, start: first.start, end: this.prevEnd };
  }

  private parseAnd(): Expr {
    const first = this.parseNot();
    if (this.tok.type !== types._and) return first;
    const operands = [first];
    while (this.eat(types._and)) operands.push(this.parseNot());
    return { kind: 'and', operands, start: first.start, end: this.prevEnd };
  }

  private parseNot(): Expr {
    if (this.tok.type === types._not) {
      const start = this.advance().start;
      const operand = this.parseNot();
      return { kind: 'not', operand, start, end: this.prevEnd };
    }
    return this.parsePredicate();
  }

  /** `~` directly after `like`, `regex`, `in` or a function name makes it case-insensitive. */
  private eatTilde(): boolean {
    if (this.tok.type === types.tilde && !this.tok.spaceBefore) {
      this.advance();
      return true;
    }
    return false;
  }

  private parsePredicate(): Expr {
    const left = this.parseArithmetic();
    const t = this.tok;
    const compareOp = COMPARE_OPS.get(t.type);
    if (compareOp) {
      this.advance();
      const right = this.parseArithmetic();
      if (COMPARE_OPS.has(this.tok.type)) this.raise(this.tok.start, 'Chained comparisons are not supported; combine them with and');
      return { kind: 'compare', op: compareOp, left, right, start: left.start, end: this.prevEnd };
    }
    if (t.type === types.assign) this.raise(t.start, "Unexpected '='; use '==' to compare");
    if (t.type === types.colon) {
      this.advance();
      const patterns = this.parseValueOrList();
      return { kind: 'match', op: ':', caseInsensitive: true, value: left, patterns, start: left.start, end: this.prevEnd };
    }
    if (t.type === types._like || t.type === types._regex) {
      this.advance();
      const caseInsensitive = this.eatTilde();
      const patterns = this.parseValueOrList();
      const op = t.type === types._like ? 'like' : 'regex';
      return { kind: 'match', op, caseInsensitive, value: left, patterns, start: left.start, end: this.prevEnd };
    }
    let negated = false;
    if (t.type === types._not && this.peek().type === types._in) {
      this.advance();
      negated = true;
    }
    if (this.tok.type === types._in) {
      this.advance();
      const caseInsensitive = this.eatTilde();
      this.expect(types.parenL, "'(' to start the list after in");
      const list = this.parseList();
      return { kind: 'in', negated, caseInsensitive, value: left, list, start: left.start, end: this.prevEnd };
    }
    return left;
  }

  private parseValueOrList(): Expr[] {
    if (this.eat(types.parenL)) return this.parseList();
    return [this.parseArithmetic()];
  }

  /** After '(': expressions separated by commas up to ')'. */
  private parseList(): Expr[] {
    const items: Expr[] = [];
    if (this.tok.type === types.parenR) this.unexpected('a value in the list');
    do {
      items.push(this.parseArithmetic());
    } while (this.eat(types.comma));
    this.expect(types.parenR, "',' or ')' in the list");
    return items;
  }

  /** Binary arithmetic by precedence climbing; the precedence comes from the token type. */
  private parseArithmetic(minPrec = 6): Expr {
    let left = this.parseUnary();
    for (;;) {
      const op = ARITH_OPS.get(this.tok.type);
      const prec = this.tok.type.binop;
      if (!op || prec === undefined || prec < minPrec) return left;
      this.advance();
      const right = this.parseArithmetic(prec + 1);
      left = { kind: 'arith', op, left, right, start: left.start, end: this.prevEnd };
    }
  }

  private parseUnary(): Expr {
    if (this.tok.type === types.minus) {
      const start = this.advance().start;
      const operand = this.parseUnary();
      if (operand.kind === 'literal' && typeof operand.value === 'number') {
        return { kind: 'literal', value: -operand.value, start, end: operand.end, ...(operand.float ? { float: true } : {}) };
      }
      return { kind: 'neg', operand, start, end: this.prevEnd };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    switch (t.type) {
      case types.number:
        this.advance();
        return t.float ? { ...this.literal(t, t.value), float: true } : this.literal(t, t.value);
      case types.string:
        this.advance();
        return this.literal(t, t.value);
      case types._true:
        this.advance();
        return this.literal(t, true);
      case types._false:
        this.advance();
        return this.literal(t, false);
      case types._null:
        this.advance();
        return this.literal(t, null);
      case types.parenL: {
        this.advance();
        const inner = this.parseExpression();
        this.expect(types.parenR, "')'");
        return inner;
      }
      case types.question: {
        this.advance();
        const field = this.parseFieldPath(t.start);
        return { ...field, optional: true };
      }
      case types.name:
      case types.quotedName:
        if (t.type === types.name && (this.peek().type === types.parenL ||
            (this.peek().type === types.tilde && this.peek(2).type === types.parenL))) {
          return this.parseCall();
        }
        return this.parseFieldPath(t.start);
      default:
        if (t.type.keyword && this.peek().type === types.dot) return this.parseFieldPath(t.start);
        this.unexpected('a field, a value or (');
    }
  }

  private literal(t: Token, value: Literal['value']): Literal {
    return { kind: 'literal', value, start: t.start, end: t.end };
  }

  private parseFieldPath(start: number): FieldRef {
    const parts: string[] = [];
    const first = this.tok;
    if (first.type !== types.name && first.type !== types.quotedName && !first.type.keyword) this.unexpected('a field name');
    parts.push(String(this.advance().value));
    while (this.tok.type === types.dot && !this.tok.spaceBefore) {
      this.advance();
      const part = this.tok;
      if (part.type !== types.name && part.type !== types.quotedName && !part.type.keyword) this.unexpected("a field name after '.'");
      parts.push(String(this.advance().value));
    }
    return { kind: 'field', path: parts.join('.'), optional: false, start, end: this.prevEnd };
  }

  private parseCall(): Call {
    const nameTok = this.advance();
    const caseInsensitive = this.eatTilde();
    this.expect(types.parenL);
    const args: Expr[] = [];
    if (this.tok.type !== types.parenR) {
      do {
        args.push(this.parseExpression());
      } while (this.eat(types.comma));
    }
    this.expect(types.parenR, "',' or ')' after a function argument");
    return { kind: 'call', name: String(nameTok.value), caseInsensitive, args, start: nameTok.start, end: this.prevEnd };
  }
}

export { EqlSyntaxError };
