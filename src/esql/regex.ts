/**
 * Pattern matching for ES|QL. `LIKE`: `*` any run, `?` one character, `\` escapes the next
 * character; the whole value must match. `RLIKE`: Lucene regular expressions (as Elasticsearch's
 * regexp query): see lucene-regex.ts. `REPLACE` and `GROK`: Java regular
 * expressions, run as JavaScript RegExps after translating what differs (leading inline flags,
 * possessive quantifiers, named groups whose names JavaScript refuses).
 */

export class PatternError extends Error {}

export type StringTest = (text: string) => boolean;

const RE_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

export function escapeRegex(text: string): string {
  return text.replace(RE_SPECIAL, '\\$&');
}

export function likeToRegExp(pattern: string): RegExp {
  let out = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\' && i + 1 < chars.length) out += escapeRegex(chars[++i]);
    else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`, 'u');
}

export function compileLike(pattern: string): StringTest {
  if (!/[\\?]/.test(pattern)) {
    const parts = pattern.split('*');
    if (parts.length === 1) return (t) => t === pattern;
    if (parts.length === 2) return (t) => t.length >= parts[0].length + parts[1].length && t.startsWith(parts[0]) && t.endsWith(parts[1]);
    if (parts.length === 3 && parts[0] === '' && parts[2] === '') return (t) => t.includes(parts[1]);
  }
  const re = likeToRegExp(pattern);
  return (t) => re.test(t);
}

/** A Java regex as a JavaScript RegExp (flags `g` added by callers that need it). Group names are mapped to g0, g1, ... */
export function javaRegex(pattern: string, extraFlags = ''): { re: RegExp; groups: string[] } {
  let p = pattern;
  let flags = extraFlags;
  const lead = /^\(\?([imsux]+)\)/.exec(p);
  if (lead) {
    for (const f of lead[1]) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
    }
    p = p.slice(lead[0].length);
  }
  p = p.replace(/\(\?i:((?:[^()\\]|\\.)*)\)/g, (_m, body: string) => `(?:${caseFold(body)})`);
  if (/\(\?[imsux-]+[:)]/.test(p)) throw new PatternError(`inline flags inside the regex are not supported: ${pattern}`);
  // Possessive quantifiers (`a++`, `a*+`, `a?+`, `{n}+`) behave as greedy ones on a match that succeeds.
  p = p.replace(/(?<!\\)([+*?}])\+/g, '$1');
  p = p.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  const groups: string[] = [];
  p = p.replace(/\(\?<([A-Za-z][A-Za-z0-9_.@-]*)>/g, (_m, name: string) => {
    groups.push(name);
    return `(?<g${groups.length - 1}>`;
  });
  try {
    return { re: new RegExp(p, flags), groups };
  } catch (err) {
    throw new PatternError(`invalid regex "${pattern}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A group body (no nested groups) with each ASCII letter matching both cases: `(?i:https?)` has no JavaScript form. */
function caseFold(body: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      out += c + (body[i + 1] ?? '');
      i++;
    } else if (c === '[' && !inClass) {
      inClass = true;
      out += c;
    } else if (c === ']' && inClass) {
      inClass = false;
      out += c;
    } else if (/[A-Za-z]/.test(c) && !(inClass && body[i + 1] === '-') && !(inClass && body[i - 1] === '-')) {
      const pair = c.toLowerCase() + c.toUpperCase();
      out += inClass ? pair : `[${pair}]`;
    } else out += c;
  }
  return out;
}
