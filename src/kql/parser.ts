/**
 * KQL parser: a hand-written recursive descent that follows Kibana's PEG grammar
 * (`@kbn/es-query` src/kuery/grammar/grammar.peggy) rule for rule, including its ordered
 * choice and backtracking, because KQL has no separate tokens: whether a space belongs to a
 * value depends on what follows it (`a b` is one value, `a or b` two). Facts kept from the
 * grammar:
 * - precedence `not` > `and` > `or`; the keywords are case-insensitive and need white space
 *   around them (`or`/`and`) or after them (`not`), so `a or` is the value "a or";
 * - an unquoted value runs until a special character `\ ( ) : < > " * { }` (a `*` makes it a
 *   wildcard) or a keyword, and is trimmed; unquoted `true`, `false` and `null` are not
 *   strings; `\` escapes a special character or a keyword, `\t \r \n \uXXXX` are escapes;
 *   because the `not` keyword is looked for inside unquoted values, `cannot x` stops at "not ";
 * - a quoted value has only the escapes `\" \\ \t \r \n \uXXXX`; any other backslash is kept;
 *   a quoted value is never a wildcard;
 * - `f:(a or not b)` applies the field to each value; `f:{ ... }` is a nested query; `f < v`
 *   a range; a value alone is a field-less term; an empty query matches everything.
 * Syntax errors report, like the PEG parser, what was expected at the farthest position reached.
 */
import { KqlSyntaxError } from '../errors.js';
import { LineIndex } from '../eql/locations.js';
import type { FieldName, KqlNode, RangeOp, Value } from './ast.js';

export interface KqlParseOptions {
  /** The rule file, for error locations. */
  readonly file?: string;
  /** The line of the file on which the query text starts (1-based; default 1). */
  readonly line?: number;
}

/** A value list before its field is known (Kibana's partial functions). */
type Partial =
  | { readonly kind: 'value'; readonly value: Value }
  | { readonly kind: 'and' | 'or'; readonly children: readonly Partial[]; readonly start: number; readonly end: number }
  | { readonly kind: 'not'; readonly child: Partial; readonly start: number; readonly end: number };

const SPECIAL = new Set(['\\', '(', ')', ':', '<', '>', '"', '*', '{', '}']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\u00a0';
}

export function parseKql(source: string, options: KqlParseOptions = {}): KqlNode {
  return new Parser(source, options).parse();
}

class Parser {
  private pos = 0;
  private failPos = 0;
  private expected = new Set<string>();

  constructor(private readonly s: string, private readonly options: KqlParseOptions) {}

  parse(): KqlNode {
    this.spaces();
    const start = this.pos;
    const query = this.orQuery();
    if (query === null) this.pos = start;
    this.spaces();
    if (this.pos < this.s.length) {
      this.expect('end of input');
      this.raise();
    }
    return query ?? { kind: 'match_all', start: 0, end: this.s.length };
  }

  private raise(): never {
    const at = this.failPos;
    const found = at < this.s.length ? JSON.stringify(this.s[at]) : 'end of input';
    const list = [...this.expected].sort();
    const { line, column } = new LineIndex(this.s).lineColumn(at);
    const firstLine = this.options.line ?? 1;
    throw new KqlSyntaxError(`Expected ${list.join(', ')} but ${found} found`, at, line + firstLine - 1, column, { file: this.options.file });
  }

  /** Records what would have been accepted at the current position (the farthest one wins). */
  private expect(what: string, at = this.pos): void {
    if (at > this.failPos) {
      this.failPos = at;
      this.expected = new Set([what]);
    } else if (at === this.failPos) {
      this.expected.add(what);
    }
  }

  private spaces(): number {
    const start = this.pos;
    while (isSpace(this.s[this.pos])) this.pos++;
    return this.pos - start;
  }

  private char(c: string): boolean {
    if (this.s[this.pos] === c) {
      this.pos++;
      return true;
    }
    this.expect(JSON.stringify(c));
    return false;
  }

  private word(w: string): boolean {
    if (this.s.slice(this.pos, this.pos + w.length).toLowerCase() === w) {
      this.pos += w.length;
      return true;
    }
    return false;
  }

  /** `Space+ word Space+` (or / and), or `word Space+` (not), at the current position; consumes it when `consume`. */
  private keyword(w: 'or' | 'and' | 'not', consume = true): boolean {
    const start = this.pos;
    const name = w.toUpperCase();
    if (w !== 'not') {
      if (this.spaces() === 0) {
        this.expect(name, start);
        this.expect('whitespace', start);
        this.pos = start;
        return false;
      }
    }
    const at = this.pos;
    if (!this.word(w)) {
      if (w !== 'not') this.expect('whitespace', at);
      this.expect(name, w === 'not' ? start : at);
      this.pos = start;
      return false;
    }
    if (this.spaces() === 0) {
      this.expect('whitespace');
      this.pos = start;
      return false;
    }
    if (!consume) this.pos = start;
    return true;
  }

  /** Whether a keyword starts here, without recording expectations (the grammar's `!Keyword`). */
  private atKeyword(): boolean {
    const c = this.s[this.pos];
    if (!isSpace(c) && c !== 'n' && c !== 'N') return false;
    const saved = { failPos: this.failPos, expected: this.expected };
    this.expected = new Set();
    this.failPos = -1;
    const found = this.keyword('or', false) || this.keyword('and', false) || this.keyword('not', false);
    this.failPos = saved.failPos;
    this.expected = saved.expected;
    return found;
  }

  private orQuery(): KqlNode | null {
    const start = this.pos;
    const head = this.andQuery();
    if (head === null) return null;
    const nodes = [head];
    for (;;) {
      const at = this.pos;
      if (!this.keyword('or')) break;
      const next = this.andQuery();
      if (next === null) {
        this.pos = at;
        break;
      }
      nodes.push(next);
    }
    return nodes.length === 1 ? head : { kind: 'or', children: nodes, start, end: this.pos };
  }

  private andQuery(): KqlNode | null {
    const start = this.pos;
    const head = this.notQuery();
    if (head === null) return null;
    const nodes = [head];
    for (;;) {
      const at = this.pos;
      if (!this.keyword('and')) break;
      const next = this.notQuery();
      if (next === null) {
        this.pos = at;
        break;
      }
      nodes.push(next);
    }
    return nodes.length === 1 ? head : { kind: 'and', children: nodes, start, end: this.pos };
  }

  private notQuery(): KqlNode | null {
    const start = this.pos;
    if (this.keyword('not')) {
      const child = this.subQuery();
      if (child !== null) return { kind: 'not', child, start, end: this.pos };
      this.pos = start;
    }
    return this.subQuery();
  }

  private subQuery(): KqlNode | null {
    const start = this.pos;
    if (this.char('(')) {
      this.spaces();
      const query = this.orQuery();
      if (query !== null) {
        this.spaces();
        if (this.char(')')) return query;
      }
      this.pos = start;
    }
    return this.nestedQuery();
  }

  private nestedQuery(): KqlNode | null {
    const start = this.pos;
    const path = this.literal('field name');
    if (path !== null) {
      this.spaces();
      if (this.char(':')) {
        this.spaces();
        if (this.char('{')) {
          this.spaces();
          const query = this.orQuery();
          if (query !== null) {
            this.spaces();
            if (this.char('}')) return { kind: 'nested', path, query, start, end: this.pos };
          }
        }
      }
    }
    this.pos = start;
    return this.expression();
  }

  private expression(): KqlNode | null {
    const start = this.pos;
    const field = this.literal('field name');
    if (field === null) {
      this.literal('value');
      this.pos = start;
      return null;
    }
    const afterField = this.pos;
    // FieldRangeExpression
    this.spaces();
    const op = this.rangeOp();
    if (op !== null) {
      this.spaces();
      const value = this.literal('literal');
      if (value !== null) return { kind: 'range', field, op, value, start, end: this.pos };
    }
    // FieldValueExpression
    this.pos = afterField;
    this.spaces();
    if (this.char(':')) {
      this.spaces();
      const partial = this.listOfValues();
      if (partial !== null) return apply(partial, field, start, this.pos);
    }
    // ValueExpression: the same literal, as a value of no field.
    this.pos = afterField;
    return { kind: 'is', field: null, value: field, start, end: afterField };
  }

  private rangeOp(): RangeOp | null {
    const two = this.s.slice(this.pos, this.pos + 2);
    if (two === '<=' || two === '>=') {
      this.pos += 2;
      return two === '<=' ? 'lte' : 'gte';
    }
    const c = this.s[this.pos];
    if (c === '<' || c === '>') {
      this.pos++;
      return c === '<' ? 'lt' : 'gt';
    }
    for (const o of ['<', '<=', '>', '>=']) this.expect(JSON.stringify(o));
    return null;
  }

  private listOfValues(): Partial | null {
    const start = this.pos;
    if (this.char('(')) {
      this.spaces();
      const list = this.orList();
      if (list !== null) {
        this.spaces();
        if (this.char(')')) return list;
      }
      this.pos = start;
    }
    const value = this.literal('value');
    return value === null ? null : { kind: 'value', value };
  }

  private orList(): Partial | null {
    return this.list('or', () => this.andList());
  }

  private andList(): Partial | null {
    return this.list('and', () => this.notList());
  }

  private list(kind: 'or' | 'and', item: () => Partial | null): Partial | null {
    const start = this.pos;
    const head = item();
    if (head === null) return null;
    const nodes = [head];
    for (;;) {
      const at = this.pos;
      if (!this.keyword(kind)) break;
      const next = item();
      if (next === null) {
        this.pos = at;
        break;
      }
      nodes.push(next);
    }
    return nodes.length === 1 ? head : { kind, children: nodes, start, end: this.pos };
  }

  private notList(): Partial | null {
    const start = this.pos;
    if (this.keyword('not')) {
      const child = this.listOfValues();
      if (child !== null) return { kind: 'not', child, start, end: this.pos };
      this.pos = start;
    }
    return this.listOfValues();
  }

  /** Literal = QuotedString / UnquotedLiteral; `what` names it in error messages. */
  private literal(what: string): Value | null {
    const start = this.pos;
    if (this.s[this.pos] === '"') return this.quoted(start);
    const parts: string[] = [''];
    let any = false;
    for (;;) {
      const c = this.unquotedChar();
      if (c === null) break;
      any = true;
      if (c === WILDCARD) parts.push('');
      else parts[parts.length - 1] += c;
    }
    if (!any) {
      this.expect(what, start);
      return null;
    }
    parts[0] = parts[0].replace(/^\s+/, '');
    parts[parts.length - 1] = parts[parts.length - 1].replace(/\s+$/, '');
    let literal: string | boolean | null = parts.join('*');
    if (parts.length === 1) {
      if (parts[0] === 'true') literal = true;
      else if (parts[0] === 'false') literal = false;
      else if (parts[0] === 'null') literal = null;
    }
    return { kind: 'value', parts, quoted: false, literal, start, end: this.pos };
  }

  private quoted(start: number): Value | null {
    const s = this.s;
    this.pos++;
    let text = '';
    for (;;) {
      if (this.pos >= s.length) {
        this.expect('"\\""');
        this.pos = start;
        return null;
      }
      const c = s[this.pos];
      if (c === '"') break;
      if (c === '\\') {
        const n = s[this.pos + 1];
        const ws = n === 't' ? '\t' : n === 'r' ? '\r' : n === 'n' ? '\n' : null;
        if (ws !== null) {
          text += ws;
          this.pos += 2;
          continue;
        }
        if (n === 'u' && HEX4.test(s.slice(this.pos + 2, this.pos + 6))) {
          text += String.fromCharCode(parseInt(s.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
          continue;
        }
        if (n === '\\' || n === '"') {
          text += n;
          this.pos += 2;
          continue;
        }
      }
      text += c;
      this.pos++;
    }
    this.pos++;
    return { kind: 'value', parts: [text], quoted: true, literal: text, start, end: this.pos };
  }

  /** One UnquotedCharacter: its text, WILDCARD for an unescaped `*`, or null (nothing consumed). */
  private unquotedChar(): string | typeof WILDCARD | null {
    const s = this.s;
    const c = s[this.pos];
    if (c === undefined) return null;
    if (c === '\\') {
      const n = s[this.pos + 1];
      const ws = n === 't' ? '\t' : n === 'r' ? '\r' : n === 'n' ? '\n' : null;
      if (ws !== null) {
        this.pos += 2;
        return ws;
      }
      if (n !== undefined && SPECIAL.has(n)) {
        this.pos += 2;
        return n;
      }
      if (n === 'u' && HEX4.test(s.slice(this.pos + 2, this.pos + 6))) {
        const ch = String.fromCharCode(parseInt(s.slice(this.pos + 2, this.pos + 6), 16));
        this.pos += 6;
        return ch;
      }
      for (const k of ['or', 'and', 'not']) {
        const text = s.slice(this.pos + 1, this.pos + 1 + k.length);
        if (text.toLowerCase() === k) {
          this.pos += 1 + k.length;
          return text;
        }
      }
      return null;
    }
    if (c === '*') {
      this.pos++;
      return WILDCARD;
    }
    if (SPECIAL.has(c) || this.atKeyword()) return null;
    this.pos++;
    return c;
  }
}

const WILDCARD = Symbol('wildcard');

function apply(p: Partial, field: FieldName, start: number, end: number): KqlNode {
  switch (p.kind) {
    case 'value':
      return { kind: 'is', field, value: p.value, start, end };
    case 'not':
      return { kind: 'not', child: apply(p.child, field, p.start, p.end), start: p.start, end: p.end };
    default:
      return { kind: p.kind, children: p.children.map((c) => apply(c, field, spanStart(c), spanEnd(c))), start, end };
  }
}

function spanStart(p: Partial): number {
  return p.kind === 'value' ? p.value.start : p.start;
}

function spanEnd(p: Partial): number {
  return p.kind === 'value' ? p.value.end : p.end;
}
