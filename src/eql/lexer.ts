/**
 * EQL tokenizer. Hand-written so every token carries its offsets and every error its position.
 * Strings follow Elasticsearch EQL: double quotes with escapes (\n \r \t \\ \" \' and
 * \u{XXXX} with 2 to 8 hex digits), raw strings in triple quotes (no escapes), no single quotes.
 */
import { EqlSyntaxError } from '../errors.js';
import { LineIndex } from './locations.js';
import { keywords, type Token, types } from './tokens.js';

export class Lexer {
  private pos = 0;
  private readonly lines: LineIndex;

  constructor(private readonly source: string) {
    this.lines = new LineIndex(source);
  }

  raise(offset: number, message: string): never {
    const { line, column } = this.lines.lineColumn(offset);
    throw new EqlSyntaxError(message, offset, line, column);
  }

  lineIndex(): LineIndex {
    return this.lines;
  }

  tokenize(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const spaceBefore = this.skipSpace();
      const token = this.next(spaceBefore);
      out.push(token);
      if (token.type === types.eof) return out;
    }
  }

  private skipSpace(): boolean {
    const start = this.pos;
    const s = this.source;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        while (this.pos < s.length && s.charCodeAt(this.pos) !== 10) this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.raise(this.pos, 'Unterminated comment');
        this.pos = end + 2;
      } else {
        break;
      }
    }
    return this.pos > start;
  }

  private token(type: Token['type'], value: Token['value'], start: number, spaceBefore: boolean): Token {
    return { type, value, start, end: this.pos, spaceBefore };
  }

  private next(spaceBefore: boolean): Token {
    const s = this.source;
    const start = this.pos;
    if (this.pos >= s.length) return this.token(types.eof, null, start, spaceBefore);
    const c = s[this.pos];
    const two = s.slice(this.pos, this.pos + 2);
    const ops2: Record<string, Token['type']> = { '==': types.eq, '!=': types.neq, '<=': types.lte, '>=': types.gte };
    if (ops2[two]) {
      this.pos += 2;
      return this.token(ops2[two], two, start, spaceBefore);
    }
    const ops1: Record<string, Token['type']> = {
      '(': types.parenL, ')': types.parenR, '[': types.bracketL, ']': types.bracketR, ',': types.comma,
      '.': types.dot, '|': types.pipe, '!': types.bang, '=': types.assign, '~': types.tilde, ':': types.colon,
      '<': types.lt, '>': types.gt, '+': types.plus, '-': types.minus, '*': types.star, '/': types.slash,
      '%': types.percent,
    };
    if (c === '?' && s[this.pos + 1] === '"') {
      this.pos++;
      return this.readRawString(start, spaceBefore, '"');
    }
    if (c === '?') {
      this.pos++;
      return this.token(types.question, '?', start, spaceBefore);
    }
    if (c === '.' && isDigit(s.charCodeAt(this.pos + 1)) && !isNameChar(s.charCodeAt(this.pos - 1))) {
      return this.readNumber(start, spaceBefore);
    }
    if (ops1[c]) {
      this.pos++;
      return this.token(ops1[c], c, start, spaceBefore);
    }
    if (c === '"') {
      if (s.startsWith('"""', this.pos)) return this.readTripleQuoted(start, spaceBefore);
      return this.readString(start, spaceBefore);
    }
    if (c === "'") this.raise(start, 'Single-quoted strings are not supported; use double quotes');
    if (c === '`') return this.readQuotedName(start, spaceBefore);
    const code = s.charCodeAt(this.pos);
    if (isDigit(code)) return this.readNumber(start, spaceBefore);
    if (isNameStart(code)) {
      while (this.pos < s.length && isNameChar(s.charCodeAt(this.pos))) this.pos++;
      const word = s.slice(start, this.pos);
      const kw = keywords.get(word.toLowerCase());
      return this.token(kw ?? types.name, word, start, spaceBefore);
    }
    this.raise(start, `Unexpected character '${c}'`);
  }

  private readNumber(start: number, spaceBefore: boolean): Token {
    const s = this.source;
    while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    let isFloat = false;
    if (s[this.pos] === '.' && isDigit(s.charCodeAt(this.pos + 1))) {
      isFloat = true;
      this.pos++;
      while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    if ((s[this.pos] === 'e' || s[this.pos] === 'E') &&
        (isDigit(s.charCodeAt(this.pos + 1)) || ((s[this.pos + 1] === '+' || s[this.pos + 1] === '-') && isDigit(s.charCodeAt(this.pos + 2))))) {
      isFloat = true;
      this.pos += 2;
      while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    const text = s.slice(start, this.pos);
    const value = isFloat ? Number.parseFloat(text) : Number(text);
    if (!Number.isFinite(value)) this.raise(start, `Number out of range: ${text}`);
    return { ...this.token(types.number, value, start, spaceBefore), float: isFloat };
  }

  private readString(start: number, spaceBefore: boolean): Token {
    const s = this.source;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      if (this.pos >= s.length) this.raise(start, 'Unterminated string');
      const c = s[this.pos];
      if (c === '"') {
        this.pos++;
        return this.token(types.string, out, start, spaceBefore);
      }
      if (c === '\n' || c === '\r') this.raise(this.pos, 'Line break in string; use \\n');
      if (c === '\\') {
        const e = s[this.pos + 1];
        const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'" };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.pos += 2;
          continue;
        }
        if (e === 'u') {
          const m = /^\\u\{([0-9a-fA-F]{2,8})\}/.exec(s.slice(this.pos, this.pos + 12));
          if (!m) this.raise(this.pos, 'Invalid unicode escape; expected \\u{XXXX} with 2 to 8 hex digits');
          const cp = Number.parseInt(m[1], 16);
          if (cp > 0x10ffff) this.raise(this.pos, `Invalid unicode code point \\u{${m[1]}}`);
          out += String.fromCodePoint(cp);
          this.pos += m[0].length;
          continue;
        }
        this.raise(this.pos, `Invalid escape sequence '\\${e ?? ''}' in string`);
      }
      out += c;
      this.pos++;
    }
  }

  private readTripleQuoted(start: number, spaceBefore: boolean): Token {
    const s = this.source;
    const end = s.indexOf('"""', this.pos + 3);
    if (end < 0) this.raise(start, 'Unterminated raw string');
    // Elasticsearch allows one to two quotes at the end of the content: """a""""" is 'a""'.
    let close = end;
    while (s[close + 3] === '"') close++;
    const value = s.slice(this.pos + 3, close);
    this.pos = close + 3;
    return this.token(types.string, value, start, spaceBefore);
  }

  private readRawString(start: number, spaceBefore: boolean, quote: string): Token {
    const s = this.source;
    const end = s.indexOf(quote, this.pos + 1);
    if (end < 0) this.raise(start, 'Unterminated raw string');
    const value = s.slice(this.pos + 1, end);
    this.pos = end + 1;
    return this.token(types.string, value, start, spaceBefore);
  }

  private readQuotedName(start: number, spaceBefore: boolean): Token {
    const s = this.source;
    let out = '';
    this.pos++;
    for (;;) {
      if (this.pos >= s.length) this.raise(start, 'Unterminated quoted identifier');
      if (s[this.pos] === '`') {
        if (s[this.pos + 1] === '`') {
          out += '`';
          this.pos += 2;
          continue;
        }
        this.pos++;
        return this.token(types.quotedName, out, start, spaceBefore);
      }
      out += s[this.pos++];
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 64;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || isDigit(c);
}
