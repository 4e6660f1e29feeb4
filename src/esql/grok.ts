/**
 * GROK and DISSECT. GROK expands `%{SYNTAX:name[:type]}` from a built-in subset of the standard
 * grok pattern library (the patterns detection rules use; any other name is refused with its
 * name) into a Java-style regex, matched unanchored; no match gives null in every column.
 * DISSECT splits on the literal text between `%{key}`s, left to right, with `%{}`/`%{?key}`
 * skipped, `%{+key}` appended with the APPEND_SEPARATOR and `->` skipping repeated delimiters.
 */
import { javaRegex, PatternError } from './regex.js';
import type { Scalar, Value } from './values.js';
import { mv } from './values.js';

const IPV4 = '(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])';
const IPV6 = '(?:(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|[0-9A-Fa-f]{1,4})|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:?){0,5})';
const HOSTNAME = '\\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\\.?|\\b)';

export const GROK_PATTERNS: Readonly<Record<string, string>> = {
  WORD: '\\b\\w+\\b',
  NOTSPACE: '\\S+',
  SPACE: '\\s*',
  DATA: '.*?',
  GREEDYDATA: '.*',
  INT: '(?:[+-]?(?:[0-9]+))',
  BASE10NUM: '(?<![0-9.+-])(?:[+-]?(?:(?:[0-9]+(?:\\.[0-9]+)?)|(?:\\.[0-9]+)))',
  NUMBER: '(?:%{BASE10NUM})',
  POSINT: '\\b(?:[1-9][0-9]*)\\b',
  NONNEGINT: '\\b(?:[0-9]+)\\b',
  USERNAME: '[a-zA-Z0-9._-]+',
  USER: '%{USERNAME}',
  IPV4,
  IPV6,
  IP: '(?:%{IPV6}|%{IPV4})',
  HOSTNAME,
  IPORHOST: '(?:%{IP}|%{HOSTNAME})',
  HOSTPORT: '%{IPORHOST}:%{POSINT}',
  URIPROTO: '[A-Za-z](?:[A-Za-z0-9+\\-.]+)+',
  URIHOST: '%{IPORHOST}(?::%{POSINT})?',
  URIPATH: '(?:/[A-Za-z0-9$.+!*\'(){},~:;=@#%&_\\-]*)+',
  UUID: '[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}',
  QUOTEDSTRING: '(?:"(?:[^"\\\\]|\\\\.)*"|\'(?:[^\'\\\\]|\\\\.)*\'|`(?:[^`\\\\]|\\\\.)*`)',
  EMAILLOCALPART: '[a-zA-Z0-9!#$%&\'*+\\-/=?^_`{|}~]{1,64}(?:\\.[a-zA-Z0-9!#$%&\'*+\\-/=?^_`{|}~]{1,62}){0,63}',
  EMAILADDRESS: '%{EMAILLOCALPART}@%{HOSTNAME}',
  TIMESTAMP_ISO8601: '\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:?\\d{2}(?::?\\d{2}(?:[.,]\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?',
  LOGLEVEL: '(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)',
};

export type GrokType = 'keyword' | 'integer' | 'double' | 'boolean';

export interface CompiledGrok {
  /** Output columns in pattern order, with their types. */
  readonly columns: readonly { readonly name: string; readonly type: GrokType }[];
  apply(text: string): Map<string, Value>;
}

export function compileGrok(pattern: string): CompiledGrok {
  const columns: { name: string; type: GrokType }[] = [];
  const expand = (p: string, depth: number): string => {
    if (depth > 20) throw new PatternError('grok patterns nest too deeply');
    return p.replace(/%\{(\w+)(?::([\w.@\-\[\]]+))?(?::(\w+))?\}/g, (_m, syntax: string, name?: string, type?: string) => {
      const def = GROK_PATTERNS[syntax];
      if (def === undefined) throw new PatternError(`not supported: grok pattern %{${syntax}}`);
      const body = expand(def, depth + 1);
      if (!name) return `(?:${body})`;
      let t: GrokType = 'keyword';
      if (type === 'int' || type === 'long') t = 'integer';
      else if (type === 'float' || type === 'double') t = 'double';
      else if (type === 'boolean') t = 'boolean';
      else if (type !== undefined) throw new PatternError(`unknown grok type ${type} for ${name}`);
      if (!columns.some((c) => c.name === name)) columns.push({ name, type: t });
      return `(?<${name}>${body})`;
    });
  };
  const { re, groups } = javaRegex(expand(pattern, 0));
  for (const g of groups) if (!columns.some((c) => c.name === g)) columns.push({ name: g, type: 'keyword' });
  const convert = (v: string, t: GrokType): Scalar | null => {
    if (t === 'keyword') return v;
    if (t === 'boolean') return v.toLowerCase() === 'true';
    const n = Number(v);
    if (Number.isNaN(n)) return null;
    return t === 'integer' ? Math.trunc(n) : n;
  };
  return {
    columns,
    apply(text: string): Map<string, Value> {
      const out = new Map<string, Value>();
      const m = re.exec(text);
      const values = new Map<string, Scalar[]>();
      if (m?.groups) {
        groups.forEach((name, i) => {
          const v = m.groups?.[`g${i}`];
          if (v === undefined) return;
          const type = columns.find((c) => c.name === name)?.type ?? 'keyword';
          const x = convert(v, type);
          if (x === null) return;
          const list = values.get(name) ?? [];
          list.push(x);
          values.set(name, list);
        });
      }
      for (const c of columns) out.set(c.name, mv(values.get(c.name) ?? []));
      return out;
    },
  };
}

interface DissectKey {
  readonly name: string;
  readonly skip: boolean;
  readonly append: boolean;
  readonly order: number;
  readonly rightPad: boolean;
}

export interface CompiledDissect {
  readonly columns: readonly string[];
  apply(text: string): Map<string, Value>;
}

export function compileDissect(pattern: string, appendSeparator: string): CompiledDissect {
  const keys: DissectKey[] = [];
  const delimiters: string[] = [];
  const re = /%\{([^}]*)\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(pattern)) !== null) {
    delimiters.push(pattern.slice(last, m.index));
    let spec = m[1];
    let rightPad = false;
    if (spec.endsWith('->')) {
      rightPad = true;
      spec = spec.slice(0, -2);
    }
    let skip = spec === '' || spec.startsWith('?');
    const append = spec.startsWith('+');
    if (spec.startsWith('*') || spec.startsWith('&')) throw new PatternError(`not supported: dissect reference keys (%{${m[1]}})`);
    let name = spec.replace(/^[?+]/, '');
    let order = keys.length;
    const slash = /\/(\d+)$/.exec(name);
    if (slash) {
      order = Number(slash[1]);
      name = name.slice(0, slash.index);
    }
    if (name === '') skip = true;
    keys.push({ name, skip, append, order, rightPad });
    last = re.lastIndex;
  }
  if (keys.length === 0) throw new PatternError('a DISSECT pattern needs at least one %{key}');
  delimiters.push(pattern.slice(last));
  const columns = [...new Set(keys.filter((k) => !k.skip).map((k) => k.name))];
  return {
    columns,
    apply(text: string): Map<string, Value> {
      const out = new Map<string, Value>();
      for (const c of columns) out.set(c, null);
      if (!text.startsWith(delimiters[0])) return out;
      let pos = delimiters[0].length;
      const found: { key: DissectKey; value: string }[] = [];
      for (let i = 0; i < keys.length; i++) {
        const delim = delimiters[i + 1];
        let end: number;
        if (i === keys.length - 1 && delim === '') end = text.length;
        else {
          end = delim === '' ? pos : text.indexOf(delim, pos);
          if (end < 0) return out;
        }
        found.push({ key: keys[i], value: text.slice(pos, end) });
        pos = end + delim.length;
        if (keys[i].rightPad && delim !== '') while (text.startsWith(delim, pos)) pos += delim.length;
      }
      if (pos !== text.length && delimiters[delimiters.length - 1] !== '') return out;
      const appended = new Map<string, { order: number; value: string }[]>();
      for (const { key, value } of found) {
        if (key.skip) continue;
        if (key.append) {
          const list = appended.get(key.name) ?? [];
          list.push({ order: key.order, value });
          appended.set(key.name, list);
        } else out.set(key.name, value);
      }
      for (const [name, parts] of appended) {
        const prior = out.get(name);
        const all = (typeof prior === 'string' ? [{ order: -1, value: prior }] : []).concat(parts.sort((a, b) => a.order - b.order));
        out.set(name, all.map((p) => p.value).join(appendSeparator));
      }
      return out;
    },
  };
}
