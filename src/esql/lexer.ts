/**
 * ES|QL tokenizer, pulled by the parser one token at a time so that `FROM` can read its index
 * patterns (`logs-*`, `.alerts-security.*`) in the lexer's "source" mode, as Elasticsearch's
 * mode-switching lexer does. Keywords are not tokens: a keyword is an identifier the parser
 * recognises where it expects one, so `source.as.number` and `event.by` stay field names.
 * Strings: double quotes with the escapes `\t \n \r \" \\` (anything else is an error, as in
 * Elasticsearch) or triple quotes with no escapes. Comments: `//` to the end of line and `/* *\/`.
 */
import { EsqlSyntaxError } from '../errors.js';
import { LineIndex } from '../eql/locations.js';

export type TokenType = 'ident' | 'qident' | 'string' | 'int' | 'decimal' | 'op' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** Identifier text, string contents, number text or operator symbol. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

const OPS = ['::', '==', '!=', '<=', '>=', '=~', '|', ',', '(', ')', '[', ']', '{', '}', '.', '=', '<', '>', '+', '-', '*', '/', '%', ':', '?'];

function isIdentStart(c: string): boolean {
  return /[A-Za-z_@]/.test(c);
}

function isIdentBody(c: string): boolean {
  return /[A-Za-z0-9_]/.test(c);
}

export class Lexer {
  pos = 0;
  private readonly lines: LineIndex;

  constructor(readonly source: string) {
    this.lines = new LineIndex(source);
  }

  lineColumn(offset: number): { line: number; column: number } {
    return this.lines.lineColumn(offset);
  }

  raise(offset: number, message: string): never {
    const { line, column } = this.lines.lineColumn(offset);
    throw new EsqlSyntaxError(message, offset, line, column);
  }

  skipSpace(): void {
    const s = this.source;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '/' && s[this.pos + 1] === '/') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.raise(this.pos, 'Unterminated comment');
        this.pos = end + 2;
      } else break;
    }
  }

  next(): Token {
    this.skipSpace();
    const s = this.source;
    const start = this.pos;
    if (start >= s.length) return { type: 'eof', value: '', start, end: start };
    const c = s[start];
    if (c === '"') return this.readString(start);
    if (c === '`') {
      let value = '';
      let i = start + 1;
      for (;;) {
        if (i >= s.length) this.raise(start, 'Unterminated quoted identifier');
        if (s[i] === '`') {
          if (s[i + 1] === '`') {
            value += '`';
            i += 2;
            continue;
          }
          break;
        }
        value += s[i++];
      }
      this.pos = i + 1;
      return { type: 'qident', value, start, end: this.pos };
    }
    if (/[0-9]/.test(c)) return this.readNumber(start);
    if (isIdentStart(c)) {
      let i = start + 1;
      while (i < s.length && isIdentBody(s[i])) i++;
      this.pos = i;
      return { type: 'ident', value: s.slice(start, i), start, end: i };
    }
    for (const op of OPS) {
      if (s.startsWith(op, start)) {
        this.pos = start + op.length;
        return { type: 'op', value: op, start, end: this.pos };
      }
    }
    return this.raise(start, `Unexpected character '${c}'`);
  }

  /** Looks at the next token without consuming it. */
  peek(): Token {
    const save = this.pos;
    const t = this.next();
    this.pos = save;
    return t;
  }

  /** `FROM` mode: an index pattern is a run of characters up to a space, comma, pipe or comment; or a string. */
  readSourcePattern(): Token {
    this.skipSpace();
    const s = this.source;
    const start = this.pos;
    if (s[start] === '"') {
      const t = this.readString(start);
      return { ...t, type: 'ident' };
    }
    let i = start;
    while (i < s.length && !/[\s,|"`()]/.test(s[i]) && !(s[i] === '/' && (s[i + 1] === '/' || s[i + 1] === '*'))) i++;
    if (i === start) this.raise(start, 'Expected an index pattern');
    this.pos = i;
    return { type: 'ident', value: s.slice(start, i), start, end: i };
  }

  private readNumber(start: number): Token {
    const s = this.source;
    let i = start;
    while (i < s.length && /[0-9]/.test(s[i])) i++;
    let decimal = false;
    if (s[i] === '.' && /[0-9]/.test(s[i + 1] ?? '')) {
      decimal = true;
      i++;
      while (i < s.length && /[0-9]/.test(s[i])) i++;
    } else if (s[i] === '.' && !isIdentStart(s[i + 1] ?? '')) {
      decimal = true;
      i++;
    }
    if ((s[i] === 'e' || s[i] === 'E') && /[0-9+-]/.test(s[i + 1] ?? '')) {
      let j = i + 1;
      if (s[j] === '+' || s[j] === '-') j++;
      if (/[0-9]/.test(s[j] ?? '')) {
        decimal = true;
        i = j;
        while (i < s.length && /[0-9]/.test(s[i])) i++;
      }
    }
    this.pos = i;
    return { type: decimal ? 'decimal' : 'int', value: s.slice(start, i), start, end: i };
  }

  private readString(start: number): Token {
    const s = this.source;
    if (s.startsWith('"""', start)) {
      const close = s.indexOf('"""', start + 3);
      if (close < 0) this.raise(start, 'Unterminated string');
      // Up to two quotes right before the closing triple belong to the string (`""""a"""""`).
      let end = close;
      while (s[end + 3] === '"' && end - close < 2) end++;
      this.pos = end + 3;
      return { type: 'string', value: s.slice(start + 3, end), start, end: this.pos };
    }
    let value = '';
    let i = start + 1;
    for (;;) {
      if (i >= s.length || s[i] === '\n' || s[i] === '\r') this.raise(start, 'Unterminated string');
      const c = s[i];
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', '"': '"', '\\': '\\' };
        if (e === undefined || !(e in map)) this.raise(i, `Invalid escape sequence '\\${e ?? ''}' in string: only \\t \\n \\r \\" \\\\ are allowed`);
        value += map[e];
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    this.pos = i + 1;
    return { type: 'string', value, start, end: this.pos };
  }
}
