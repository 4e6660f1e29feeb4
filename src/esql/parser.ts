/**
 * ES|QL recursive-descent parser over the commands and expressions of Elasticsearch's grammar
 * (EsqlBaseParser.g4) that detection rules use. Commands Lookout cannot run are parsed past to
 * the next pipe and kept as `unsupported` nodes, so the verifier can name them as the reason.
 *
 * Expression precedence, loosest first: OR, AND, NOT, predicates (comparisons, LIKE/RLIKE, IN,
 * IS NULL), + and -, * / %, unary minus, `::` casts, primaries.
 */
import type { Command, CompareOp, Expr, Field, Query, SortKey, Span, TimeUnit } from './ast.js';
import { Lexer, type Token } from './lexer.js';

const SUPPORTED = new Set(['FROM', 'WHERE', 'EVAL', 'KEEP', 'DROP', 'STATS', 'INLINESTATS', 'INLINE', 'SORT', 'GROK', 'DISSECT', 'MV_EXPAND', 'LIMIT', 'RENAME']);
const UNSUPPORTED = new Set(['COMPLETION', 'ENRICH', 'LOOKUP', 'CHANGE_POINT', 'FORK', 'SAMPLE', 'RERANK', 'ROW', 'SHOW', 'METRICS', 'TS', 'FUSE', 'JOIN', 'LEFT', 'RIGHT', 'FULL', 'EXPLAIN', 'INSIST_🐔', 'MMR']);

const UNITS: Record<string, TimeUnit> = {
  millisecond: 'millisecond', milliseconds: 'millisecond', ms: 'millisecond',
  second: 'second', seconds: 'second', sec: 'second', s: 'second',
  minute: 'minute', minutes: 'minute', min: 'minute', m: 'minute',
  hour: 'hour', hours: 'hour', h: 'hour',
  day: 'day', days: 'day', d: 'day',
  week: 'week', weeks: 'week', w: 'week',
  month: 'month', months: 'month', mo: 'month',
  quarter: 'quarter', quarters: 'quarter', q: 'quarter',
  year: 'year', years: 'year', yr: 'year', y: 'year',
};

const COMPARE: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);

export function parseEsql(source: string): Query {
  return new Parser(source).parseQuery();
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;

  constructor(private readonly source: string) {
    this.lexer = new Lexer(source);
    this.tok = this.lexer.next();
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private isOp(value: string): boolean {
    return this.tok.type === 'op' && this.tok.value === value;
  }

  private isWord(word: string): boolean {
    return this.tok.type === 'ident' && this.tok.value.toUpperCase() === word;
  }

  private eatOp(value: string): boolean {
    if (!this.isOp(value)) return false;
    this.advance();
    return true;
  }

  private eatWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.advance();
    return true;
  }

  private describe(t: Token): string {
    if (t.type === 'eof') return 'end of query';
    if (t.type === 'string') return `string "${t.value}"`;
    return `'${this.source.slice(t.start, t.end)}'`;
  }

  private fail(message: string, t: Token = this.tok): never {
    return this.lexer.raise(t.start, message);
  }

  private expectOp(value: string, what = `'${value}'`): Token {
    if (!this.isOp(value)) this.fail(`Expected ${what} but found ${this.describe(this.tok)}`);
    return this.advance();
  }

  private expectWord(word: string): Token {
    if (!this.isWord(word)) this.fail(`Expected ${word} but found ${this.describe(this.tok)}`);
    return this.advance();
  }

  private span(start: number): Span {
    return { start, end: this.lastEnd };
  }

  private lastEnd = 0;

  private take(): Token {
    const t = this.advance();
    this.lastEnd = t.end;
    return t;
  }

  parseQuery(): Query {
    const commands: Command[] = [];
    if (this.tok.type === 'eof') this.fail('Empty query: expected a FROM command');
    for (;;) {
      commands.push(this.parseCommand(commands.length === 0));
      if ((this.tok as Token).type === 'eof') break;
      this.expectOp('|', "'|' or the end of the query");
    }
    return { commands, start: commands[0].start, end: this.lastEnd };
  }

  private parseCommand(first: boolean): Command {
    const t = this.tok;
    if (t.type !== 'ident') this.fail(`Expected a command but found ${this.describe(t)}`);
    const word = t.value.toUpperCase();
    if (first && word !== 'FROM') {
      if (UNSUPPORTED.has(word)) return this.parseUnsupported(word);
      this.fail(`Expected FROM as the first command but found ${this.describe(t)}`);
    }
    if (!first && word === 'FROM') this.fail('FROM can only be the first command');
    if (UNSUPPORTED.has(word)) return this.parseUnsupported(word === 'LOOKUP' ? 'LOOKUP JOIN' : word);
    if (!SUPPORTED.has(word)) this.fail(`Unknown command ${this.describe(t)}`);
    const start = t.start;
    this.take();
    switch (word) {
      case 'FROM':
        return this.parseFrom(start);
      case 'WHERE':
        return { kind: 'where', condition: this.parseExpr(), ...this.span(start) };
      case 'EVAL':
        return { kind: 'eval', fields: this.parseFields(false), ...this.span(start) };
      case 'KEEP':
      case 'DROP':
        return { kind: word === 'KEEP' ? 'keep' : 'drop', patterns: this.parseList(() => this.parseNamePattern()), ...this.span(start) };
      case 'INLINE':
        this.lastEnd = this.expectWord('STATS').end;
        return this.parseStats(start, true);
      case 'INLINESTATS':
        return this.parseStats(start, true);
      case 'STATS':
        return this.parseStats(start, false);
      case 'SORT':
        return { kind: 'sort', keys: this.parseList(() => this.parseSortKey()), ...this.span(start) };
      case 'GROK': {
        const input = this.parsePrimaryChain();
        const p = this.expectString('a GROK pattern');
        return { kind: 'grok', input, pattern: p.value, patternStart: p.start, ...this.span(start) };
      }
      case 'DISSECT': {
        const input = this.parsePrimaryChain();
        const p = this.expectString('a DISSECT pattern');
        let appendSeparator = '';
        if (this.isWord('APPEND_SEPARATOR')) {
          this.take();
          this.expectOp('=');
          appendSeparator = this.expectString('the APPEND_SEPARATOR string').value;
        } else if (this.tok.type === 'ident' && !this.isOp('|')) {
          this.fail(`Unknown DISSECT option ${this.describe(this.tok)}: only APPEND_SEPARATOR is allowed`);
        }
        return { kind: 'dissect', input, pattern: p.value, patternStart: p.start, appendSeparator, ...this.span(start) };
      }
      case 'MV_EXPAND':
        return { kind: 'mv_expand', column: this.parseQualifiedName(), ...this.span(start) };
      case 'LIMIT': {
        if (this.tok.type !== 'int') this.fail(`Expected an integer after LIMIT but found ${this.describe(this.tok)}`);
        const n = Number(this.take().value);
        return { kind: 'limit', count: n, ...this.span(start) };
      }
      case 'RENAME':
        return { kind: 'rename', pairs: this.parseList(() => this.parseRenamePair()), ...this.span(start) };
      default:
        return this.fail(`Unknown command ${this.describe(t)}`);
    }
  }

  private parseUnsupported(name: string): Command {
    const start = this.tok.start;
    let depth = 0;
    while (this.tok.type !== 'eof' && !(depth === 0 && this.isOp('|'))) {
      if (this.isOp('(') || this.isOp('[') || this.isOp('{')) depth++;
      if (this.isOp(')') || this.isOp(']') || this.isOp('}')) depth--;
      this.take();
    }
    return { kind: 'unsupported', name, ...this.span(start) };
  }

  private expectString(what: string): Token {
    if (this.tok.type !== 'string') this.fail(`Expected ${what} (a string) but found ${this.describe(this.tok)}`);
    return this.take();
  }

  private parseList<T>(item: () => T): T[] {
    const out = [item()];
    while (this.eatOp(',')) out.push(item());
    return out;
  }

  private parseFrom(start: number): Command {
    // The current token was read in expression mode; re-read from its start in source mode.
    const sources: string[] = [];
    this.lexer.pos = this.tok.start;
    for (;;) {
      const p = this.lexer.readSourcePattern();
      sources.push(p.value);
      this.lastEnd = p.end;
      this.lexer.skipSpace();
      if (this.lexer.source[this.lexer.pos] === ',') {
        this.lexer.pos++;
        continue;
      }
      break;
    }
    this.tok = this.lexer.next();
    const metadata: string[] = [];
    if (this.isWord('METADATA')) {
      this.take();
      metadata.push(...this.parseList(() => this.parseQualifiedName()));
    }
    return { kind: 'from', sources, metadata, ...this.span(start) };
  }

  private parseStats(start: number, inline: boolean): Command {
    let aggregates: Field[] = [];
    if (!this.isWord('BY') && this.tok.type !== 'eof' && !this.isOp('|')) aggregates = this.parseFields(true);
    let groups: Field[] = [];
    if (this.eatWord('BY')) {
      this.lastEnd = this.lastEnd || 0;
      groups = this.parseFields(false);
    }
    if (aggregates.length === 0 && groups.length === 0) this.fail('STATS needs aggregates or BY groups');
    return { kind: 'stats', inline, aggregates, groups, ...this.span(start) };
  }

  private parseFields(aggregate: boolean): Field[] {
    return this.parseList(() => this.parseField(aggregate));
  }

  private parseField(aggregate: boolean): Field {
    const start = this.tok.start;
    let name: string | undefined;
    if (this.tok.type === 'ident' || this.tok.type === 'qident') {
      const save = { pos: this.lexer.pos, tok: this.tok, lastEnd: this.lastEnd };
      const candidate = this.parseQualifiedName();
      if (this.isOp('=')) {
        this.take();
        name = candidate;
      } else {
        this.lexer.pos = save.pos;
        this.tok = save.tok;
        this.lastEnd = save.lastEnd;
      }
    }
    const exprStart = this.tok.start;
    const expr = this.parseExpr();
    const exprEnd = this.lastEnd;
    let filter: Expr | undefined;
    if (aggregate && this.isWord('WHERE')) {
      this.take();
      filter = this.parseExpr();
    }
    return { name: name ?? this.source.slice(exprStart, exprEnd), expr, filter, ...this.span(start) };
  }

  private parseSortKey(): SortKey {
    const start = this.tok.start;
    const expr = this.parseExpr();
    let descending = false;
    if (this.eatWord('DESC')) descending = true;
    else this.eatWord('ASC');
    let nullsFirst = descending;
    if (this.eatWord('NULLS')) {
      if (this.eatWord('FIRST')) nullsFirst = true;
      else if (this.eatWord('LAST')) nullsFirst = false;
      else this.fail(`Expected FIRST or LAST after NULLS but found ${this.describe(this.tok)}`);
    }
    this.lastEnd = Math.max(this.lastEnd, expr.end);
    return { expr, descending, nullsFirst, ...this.span(start) };
  }

  private parseRenamePair(): { from: string; to: string } {
    const first = this.parseQualifiedName();
    if (this.eatOp('=')) return { from: this.parseQualifiedName(), to: first };
    this.expectWord('AS');
    return { from: first, to: this.parseQualifiedName() };
  }

  private namePart(): string {
    const t = this.tok;
    if (t.type === 'ident' || t.type === 'qident' || t.type === 'int') {
      this.take();
      return t.value;
    }
    return this.fail(`Expected a column name but found ${this.describe(t)}`);
  }

  private parseQualifiedName(): string {
    const t = this.tok;
    if (t.type !== 'ident' && t.type !== 'qident') this.fail(`Expected a column name but found ${this.describe(t)}`);
    let name = this.namePart();
    while (this.isOp('.')) {
      this.take();
      name += `.${this.namePart()}`;
    }
    return name;
  }

  /** `Esql.*`, `*`, `process.name`, `` `a b`.* ``: parts and `*` written without spaces between them. */
  private parseNamePattern(): string {
    const t = this.tok;
    if (t.type !== 'ident' && t.type !== 'qident' && !this.isOp('*')) this.fail(`Expected a column name or pattern but found ${this.describe(t)}`);
    let out = '';
    let end = t.start;
    while (this.tok.start === end && (this.tok.type === 'ident' || this.tok.type === 'qident' || this.tok.type === 'int' || this.isOp('.') || this.isOp('*'))) {
      const x = this.take();
      out += x.value;
      end = x.end;
    }
    return out;
  }

  parseExpr(): Expr {
    let left = this.parseAnd();
    while (this.isWord('OR')) {
      this.take();
      const right = this.parseAnd();
      left = { kind: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isWord('AND')) {
      this.take();
      const right = this.parseNot();
      left = { kind: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isWord('NOT')) {
      const start = this.take().start;
      const operand = this.parseNot();
      return { kind: 'not', operand, start, end: operand.end };
    }
    return this.parsePredicate();
  }

  private parsePredicate(): Expr {
    const left = this.parseAdditive();
    if (this.tok.type === 'op' && COMPARE.has(this.tok.value)) {
      const op = this.take().value as CompareOp;
      const right = this.parseAdditive();
      return { kind: 'compare', op, left, right, start: left.start, end: right.end };
    }
    if (this.isOp('=~')) this.fail("not supported: the '=~' operator");
    if (this.isOp(':')) {
      // `field : "query"` is MATCH(field, "query").
      this.take();
      const right = this.parseAdditive();
      return { kind: 'call', name: 'MATCH', star: false, args: [left, right], start: left.start, end: right.end };
    }
    let negated = false;
    if (this.isWord('NOT')) {
      const next = this.lexer.peek();
      if (next.type === 'ident' && ['LIKE', 'RLIKE', 'IN'].includes(next.value.toUpperCase())) {
        this.take();
        negated = true;
      }
    }
    if (this.isWord('LIKE') || this.isWord('RLIKE')) {
      const regex = this.take().value.toUpperCase() === 'RLIKE';
      const patterns: string[] = [];
      if (this.eatOp('(')) {
        patterns.push(...this.parseList(() => this.expectString('a pattern').value));
        this.lastEnd = this.expectOp(')').end;
      } else {
        patterns.push(this.expectString('a pattern').value);
      }
      return { kind: 'like', regex, negated, value: left, patterns, start: left.start, end: this.lastEnd };
    }
    if (this.isWord('IN')) {
      this.take();
      this.expectOp('(', "'(' after IN");
      const list = this.parseList(() => this.parseExpr());
      this.lastEnd = this.expectOp(')', "')' or ',' in the IN list").end;
      return { kind: 'in', negated, value: left, list, start: left.start, end: this.lastEnd };
    }
    if (this.isWord('IS')) {
      this.take();
      const not = this.eatWord('NOT');
      this.lastEnd = this.expectWord('NULL').end;
      return { kind: 'isnull', negated: not, operand: left, start: left.start, end: this.lastEnd };
    }
    return left;
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.take().value as '+' | '-';
      const right = this.parseMultiplicative();
      left = { kind: 'arith', op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.take().value as '*' | '/' | '%';
      const right = this.parseUnary();
      left = { kind: 'arith', op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseUnary(): Expr {
    if (this.isOp('-')) {
      const start = this.take().start;
      const operand = this.parseUnary();
      if (operand.kind === 'literal' && typeof operand.value === 'number') return { ...operand, value: -operand.value, start };
      if (operand.kind === 'timespan') return { ...operand, amount: -operand.amount, start };
      return { kind: 'neg', operand, start, end: operand.end };
    }
    if (this.isOp('+')) {
      this.take();
      return this.parseUnary();
    }
    return this.parsePrimaryChain();
  }

  /** A primary followed by any `::type` casts. */
  private parsePrimaryChain(): Expr {
    let e = this.parsePrimary();
    while (this.isOp('::')) {
      this.take();
      if (this.tok.type !== 'ident') this.fail(`Expected a type name after '::' but found ${this.describe(this.tok)}`);
      const type = this.take().value.toLowerCase();
      e = { kind: 'cast', operand: e, type, start: e.start, end: this.lastEnd };
    }
    return e;
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    switch (t.type) {
      case 'int':
      case 'decimal': {
        this.take();
        const value = Number(t.value);
        if (this.tok.type === 'ident' && UNITS[this.tok.value.toLowerCase()] !== undefined) {
          const unit = UNITS[this.take().value.toLowerCase()];
          return { kind: 'timespan', amount: value, unit, start: t.start, end: this.lastEnd };
        }
        return { kind: 'literal', value, double: t.type === 'decimal', start: t.start, end: t.end };
      }
      case 'string':
        this.take();
        return { kind: 'literal', value: t.value, start: t.start, end: t.end };
      case 'qident':
        return this.parseFieldRef();
      case 'ident': {
        const upper = t.value.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE') {
          this.take();
          return { kind: 'literal', value: upper === 'TRUE', start: t.start, end: t.end };
        }
        if (upper === 'NULL') {
          this.take();
          return { kind: 'literal', value: null, start: t.start, end: t.end };
        }
        if (this.lexer.peek().type === 'op' && this.lexer.peek().value === '(') return this.parseCall();
        return this.parseFieldRef();
      }
      case 'op':
        if (t.value === '(') {
          this.take();
          const e = this.parseExpr();
          this.lastEnd = this.expectOp(')').end;
          return { ...e, start: t.start, end: this.lastEnd };
        }
        if (t.value === '[') return this.parseArrayLiteral();
        if (t.value === '?') this.fail('not supported: query parameters (?name)');
        break;
      default:
        break;
    }
    return this.fail(`Expected an expression but found ${this.describe(t)}`);
  }

  private parseArrayLiteral(): Expr {
    const start = this.take().start;
    const values: (string | number | boolean | null)[] = [];
    let double = false;
    if (!this.isOp(']')) {
      for (;;) {
        const e = this.parseUnary();
        if (e.kind !== 'literal' || Array.isArray(e.value)) this.fail('Expected a constant in the list', this.tok);
        values.push(e.value as string | number | boolean | null);
        double ||= e.double === true;
        if (!this.eatOp(',')) break;
      }
    }
    this.lastEnd = this.expectOp(']').end;
    return { kind: 'literal', value: values, double, start, end: this.lastEnd };
  }

  private parseMap(): Expr {
    const start = this.take().start;
    const entries = new Map<string, string | number | boolean | null>();
    if (!this.isOp('}')) {
      for (;;) {
        const k = this.expectString('an option name');
        this.expectOp(':');
        const v = this.parseUnary();
        if (v.kind !== 'literal' || Array.isArray(v.value)) this.fail('Expected a constant option value', this.tok);
        entries.set(k.value, v.value as string | number | boolean | null);
        if (!this.eatOp(',')) break;
      }
    }
    this.lastEnd = this.expectOp('}').end;
    return { kind: 'map', entries, start, end: this.lastEnd };
  }

  private parseFieldRef(): Expr {
    const start = this.tok.start;
    const name = this.parseQualifiedName();
    return { kind: 'field', name, start, end: this.lastEnd };
  }

  private parseCall(): Expr {
    const nameTok = this.take();
    this.take(); // (
    const name = nameTok.value.toUpperCase();
    if (this.isOp('*')) {
      this.take();
      this.lastEnd = this.expectOp(')').end;
      return { kind: 'call', name, star: true, args: [], start: nameTok.start, end: this.lastEnd };
    }
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        args.push(this.isOp('{') ? this.parseMap() : this.parseExpr());
        if (!this.eatOp(',')) break;
      }
    }
    this.lastEnd = this.expectOp(')', "')' or ',' in the argument list").end;
    return { kind: 'call', name, star: false, args, start: nameTok.start, end: this.lastEnd };
  }
}
