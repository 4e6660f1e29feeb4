/**
 * EQL `regex` uses Lucene's regular expression syntax, matched against the whole value. Lucene
 * patterns are translated to RE2 syntax and run with re2js, a linear-time engine, so no pattern
 * can backtrack catastrophically on a hostile value.
 *
 * Lucene, unlike JavaScript: no anchors (`^` and `$` are ordinary characters), `.` matches any
 * character including a newline, `"..."` quotes a literal string, `@` matches any string, `#`
 * the empty language. Lucene's complement `~`, intersection `&` and numeric intervals `<1-9>`
 * have no RE2 equivalent and are refused with that reason.
 */
import { RE2JS } from 're2js';
import type { StringTest } from './wildcard.js';

export class RegexSyntaxError extends Error {}

const RE2_SPECIAL = new Set(['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$']);

function literal(ch: string): string {
  return RE2_SPECIAL.has(ch) ? `\\${ch}` : ch;
}

export function luceneToRe2(pattern: string): string {
  let out = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    switch (c) {
      case '\\':
        if (i + 1 >= chars.length) throw new RegexSyntaxError('regex ends with a lone backslash');
        out += literal(chars[++i]);
        break;
      case '"': {
        const end = chars.indexOf('"', i + 1);
        if (end < 0) throw new RegexSyntaxError('unterminated quoted string in regex');
        out += chars.slice(i + 1, end).map(literal).join('');
        i = end;
        break;
      }
      case '[': {
        let j = i + 1;
        let cls = '[';
        if (chars[j] === '^') {
          cls += '^';
          j++;
        }
        let first = true;
        for (; j < chars.length && (chars[j] !== ']' || first); j++) {
          first = false;
          const d = chars[j];
          if (d === '\\') {
            if (j + 1 >= chars.length) throw new RegexSyntaxError('regex ends with a lone backslash');
            cls += `\\${chars[++j]}`;
          } else if (d === '[' || d === ']' || d === '^') cls += `\\${d}`;
          else cls += d;
        }
        if (j >= chars.length) throw new RegexSyntaxError('unterminated character class in regex');
        out += `${cls}]`;
        i = j;
        break;
      }
      case '@':
        out += '(?:.*)';
        break;
      case '#':
        out += '[^\\x00-\\x{10FFFF}]';
        break;
      case '~':
        throw new RegexSyntaxError("Lucene's complement operator '~' is not supported in regex");
      case '&':
        throw new RegexSyntaxError("Lucene's intersection operator '&' is not supported in regex");
      case '<':
        if (/^<\d+-\d+>/.test(chars.slice(i).join(''))) throw new RegexSyntaxError("Lucene's numeric interval '<n-m>' is not supported in regex");
        out += '<';
        break;
      case '^':
      case '$':
        out += `\\${c}`;
        break;
      default:
        out += c;
    }
  }
  return out;
}

export function compileRegex(pattern: string, caseInsensitive: boolean): StringTest {
  const source = `^(?:${luceneToRe2(pattern)})$`;
  let re;
  try {
    re = RE2JS.compile(source, RE2JS.DOTALL | (caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const reason = /error parsing regexp: ([^:`]+)/.exec(text)?.[1]?.trim() ?? text;
    throw new RegexSyntaxError(`invalid regex "${pattern}": ${reason}`);
  }
  // re2js is linear but slow (a regex~ over process.name cost a mix of 20 rules 14% of its time):
  // results are remembered per value, as fields a regex tests (names, codes) repeat their values.
  // Bounded: values up to CACHED_LENGTH characters, and the memory starts again when full.
  const seen = new Map<string, boolean>();
  return (text) => {
    if (text.length > CACHED_LENGTH) return re.matches(text);
    let r = seen.get(text);
    if (r === undefined) {
      r = re.matches(text);
      if (seen.size >= CACHED_VALUES) seen.clear();
      seen.set(text, r);
    }
    return r;
  };
}

const CACHED_VALUES = 4096;
const CACHED_LENGTH = 512;
