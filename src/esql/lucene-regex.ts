/**
 * RLIKE patterns: Lucene regular expressions (RegExp with all syntax flags, as Elasticsearch's
 * RLIKE builds them), parsed by Lucene's grammar and matched against the whole value with re2js
 * (linear time). Lucene's grammar differs from the usual one: `&` (intersection) binds tighter
 * than `|` and looser than concatenation; a character with no other reading is itself, so a
 * leading `*`, or a `|` right after `&`, is a literal character; `.` matches a newline; `"..."`
 * quotes a literal, `@` is any string, `#` the empty language, `\d \s \w` (and upper-case) are
 * classes. An intersection is computed when one side is a finite set of strings (each kept if the
 * other side matches it whole); complement `~`, numeric intervals `<n-m>` and an intersection of
 * two infinite languages have no RE2 form and are refused with that reason.
 */
import { RE2JS } from 're2js';
import { PatternError, type StringTest } from './regex.js';

type Node =
  | { readonly t: 'char'; readonly c: string }
  | { readonly t: 'string'; readonly s: string }
  | { readonly t: 'any' | 'anystring' | 'empty' }
  | { readonly t: 'class'; readonly negated: boolean; readonly body: string }
  | { readonly t: 'union' | 'inter' | 'concat'; readonly a: Node; readonly b: Node }
  | { readonly t: 'repeat'; readonly e: Node; readonly min: number; readonly max: number };

const PREDEFINED = 'dDsSwW';

class LuceneParser {
  private pos = 0;
  constructor(private readonly p: string) {}

  private more(): boolean {
    return this.pos < this.p.length;
  }
  private peek(chars: string): boolean {
    return this.more() && chars.includes(this.p[this.pos]);
  }
  private match(c: string): boolean {
    if (this.more() && this.p[this.pos] === c) {
      this.pos++;
      return true;
    }
    return false;
  }
  private next(): string {
    if (!this.more()) throw new PatternError(`invalid RLIKE pattern "${this.p}": unexpected end of pattern`);
    return this.p[this.pos++];
  }

  parse(): Node {
    const e = this.union();
    if (this.more()) throw new PatternError(`invalid RLIKE pattern "${this.p}": end of pattern expected at position ${this.pos}`);
    return e;
  }

  private union(): Node {
    const a = this.inter();
    return this.match('|') ? { t: 'union', a, b: this.union() } : a;
  }

  private inter(): Node {
    const a = this.concat();
    return this.match('&') ? { t: 'inter', a, b: this.inter() } : a;
  }

  private concat(): Node {
    const a = this.repeat();
    if (this.more() && !this.peek(')|&')) return { t: 'concat', a, b: this.concat() };
    return a;
  }

  private repeat(): Node {
    let e = this.compl();
    while (this.peek('?*+{')) {
      if (this.match('?')) e = { t: 'repeat', e, min: 0, max: 1 };
      else if (this.match('*')) e = { t: 'repeat', e, min: 0, max: Infinity };
      else if (this.match('+')) e = { t: 'repeat', e, min: 1, max: Infinity };
      else {
        this.pos++;
        const start = this.pos;
        while (this.peek('0123456789')) this.pos++;
        if (start === this.pos) throw new PatternError(`invalid RLIKE pattern "${this.p}": integer expected at position ${this.pos}`);
        const min = Number(this.p.slice(start, this.pos));
        let max = min;
        if (this.match(',')) {
          const s2 = this.pos;
          while (this.peek('0123456789')) this.pos++;
          max = s2 === this.pos ? Infinity : Number(this.p.slice(s2, this.pos));
        }
        if (!this.match('}')) throw new PatternError(`invalid RLIKE pattern "${this.p}": expected '}' at position ${this.pos}`);
        e = { t: 'repeat', e, min, max };
      }
    }
    return e;
  }

  private compl(): Node {
    if (this.match('~')) throw new PatternError("Lucene's complement operator '~' is not supported in RLIKE");
    return this.charClass();
  }

  private charClass(): Node {
    if (!this.match('[')) return this.simple();
    const negated = this.match('^');
    let body = '';
    do {
      if (this.match('\\')) {
        const c = this.next();
        body += PREDEFINED.includes(c) ? `\\${c}` : escapeInClass(c);
        continue;
      }
      const c = this.next();
      if (this.match('-')) body += `${escapeInClass(c)}-${escapeInClass(this.charExp())}`;
      else body += escapeInClass(c);
    } while (this.more() && !this.peek(']'));
    if (!this.match(']')) throw new PatternError(`invalid RLIKE pattern "${this.p}": expected ']'`);
    return { t: 'class', negated, body };
  }

  private charExp(): string {
    this.match('\\');
    return this.next();
  }

  private simple(): Node {
    if (this.match('.')) return { t: 'any' };
    if (this.match('#')) return { t: 'empty' };
    if (this.match('@')) return { t: 'anystring' };
    if (this.match('"')) {
      const end = this.p.indexOf('"', this.pos);
      if (end < 0) throw new PatternError(`invalid RLIKE pattern "${this.p}": expected '"'`);
      const s = this.p.slice(this.pos, end);
      this.pos = end + 1;
      return { t: 'string', s };
    }
    if (this.match('(')) {
      if (this.match(')')) return { t: 'string', s: '' };
      const e = this.union();
      if (!this.match(')')) throw new PatternError(`invalid RLIKE pattern "${this.p}": expected ')' at position ${this.pos}`);
      return e;
    }
    if (this.peek('<') && /^<\d+-\d+>/.test(this.p.slice(this.pos))) throw new PatternError("Lucene's numeric interval '<n-m>' is not supported in RLIKE");
    if (this.match('\\')) {
      const c = this.next();
      return PREDEFINED.includes(c) ? { t: 'class', negated: false, body: `\\${c}` } : { t: 'char', c };
    }
    return { t: 'char', c: this.next() };
  }
}

function escapeInClass(c: string): string {
  return /[\\\]\[^-]/.test(c) ? `\\${c}` : c;
}

function escapeLiteral(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

const EMPTY = '[^\\x00-\\x{10FFFF}]';

/** The language as a small finite set of strings, or null when it is infinite or large. */
function finite(n: Node): string[] | null {
  const LIMIT = 256;
  switch (n.t) {
    case 'char': return [n.c];
    case 'string': return [n.s];
    case 'empty': return [];
    case 'union': {
      const a = finite(n.a);
      const b = finite(n.b);
      return a && b && a.length + b.length <= LIMIT ? [...a, ...b] : null;
    }
    case 'concat': {
      const a = finite(n.a);
      const b = finite(n.b);
      if (!a || !b || a.length * b.length > LIMIT) return null;
      return a.flatMap((x) => b.map((y) => x + y));
    }
    case 'inter': {
      const a = finite(n.a);
      if (a) return a.filter(wholeMatch(n.b));
      const b = finite(n.b);
      return b ? b.filter(wholeMatch(n.a)) : null;
    }
    default:
      return null;
  }
}

function wholeMatch(n: Node): (s: string) => boolean {
  const re = compileRe2(`^(?:${toRe2(n)})$`);
  return (s) => re.matches(s);
}

function toRe2(n: Node): string {
  switch (n.t) {
    case 'char': return escapeLiteral(n.c);
    case 'string': return escapeLiteral(n.s);
    case 'any': return '.';
    case 'anystring': return '(?:.*)';
    case 'empty': return EMPTY;
    case 'class': return `[${n.negated ? '^' : ''}${n.body}]`;
    case 'union': return `(?:${toRe2(n.a)}|${toRe2(n.b)})`;
    case 'concat': return `${toRe2(n.a)}${toRe2(n.b)}`;
    case 'repeat': {
      const inner = `(?:${toRe2(n.e)})`;
      if (n.min === 0 && n.max === 1) return `${inner}?`;
      if (n.min === 0 && n.max === Infinity) return `${inner}*`;
      if (n.min === 1 && n.max === Infinity) return `${inner}+`;
      if (n.max === Infinity) return `${inner}{${n.min},}`;
      if (n.min > 1000 || n.max > 1000) throw new PatternError('RLIKE repetition counts above 1000 are not supported');
      return `${inner}{${n.min},${n.max}}`;
    }
    case 'inter': {
      const kept = finite(n);
      if (!kept) throw new PatternError("Lucene's intersection operator '&' between two infinite languages is not supported in RLIKE");
      return kept.length === 0 ? EMPTY : `(?:${kept.map(escapeLiteral).join('|')})`;
    }
  }
}

function compileRe2(source: string): RE2JS {
  try {
    return RE2JS.compile(source, RE2JS.DOTALL);
  } catch (err) {
    throw new PatternError(`invalid RLIKE pattern: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Lucene regex to an RE2 pattern (unanchored). */
export function luceneToRe2(pattern: string): string {
  return toRe2(new LuceneParser(pattern).parse());
}

export function compileRlike(pattern: string): StringTest {
  const re = compileRe2(`^(?:${luceneToRe2(pattern)})$`);
  return (t) => re.matches(t);
}
