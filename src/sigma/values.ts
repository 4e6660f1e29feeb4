/**
 * Sigma value modifiers, after the Sigma specification (v2): a detection item
 * `Field|mod1|mod2: value(s)` becomes a list of atoms, each a test on one field value and a
 * piece of Elasticsearch query. Transformations run in the order the modifiers are written
 * (windash, utf16*, base64*), then the match kind (contains / startswith / endswith wrap the
 * value in wildcards; re, cidr, gt..lte, exists, fieldref replace the comparison). Matching is
 * case-insensitive unless `cased`; `re` is case-sensitive unless `re|i`. Plain values treat
 * `*` and `?` as wildcards, `\*`, `\?` and `\\` as the literal characters.
 */
import { RE2JS } from 're2js';
import type { Primitive } from '../eql/fields.js';
import { cidrContains } from '../eql/functions.js';
import { compileWildcard, hasWildcard } from '../eql/wildcard.js';

export class SigmaValueError extends Error {}

export type Atom =
  | { readonly kind: 'wildcard'; readonly pattern: string; readonly caseInsensitive: boolean }
  | { readonly kind: 'literal-regex'; readonly regex: string; readonly caseInsensitive: boolean }
  | { readonly kind: 'regex'; readonly regex: string; readonly flags: string }
  | { readonly kind: 'number'; readonly op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'cidr'; readonly block: string }
  | { readonly kind: 'fieldref'; readonly field: string };

export interface ItemSpec {
  /** One group per value written; a group's atoms are alternatives (windash, base64offset). */
  readonly groups: readonly (readonly Atom[])[];
  /** `all`: every group must match (default: any). */
  readonly all: boolean;
}

const KNOWN = new Set(['contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cidr', 'base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide', 'windash', 'exists', 'fieldref', 'gt', 'gte', 'lt', 'lte', 'cased', 'expand']);

/** Sigma string with escapes to segments: text, or a wildcard character. */
function parseSigmaString(value: string): { text: string; wild: boolean }[] {
  const out: { text: string; wild: boolean }[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && (value[i + 1] === '*' || value[i + 1] === '?' || value[i + 1] === '\\')) {
      out.push({ text: value[i + 1], wild: false });
      i++;
    } else if (c === '*' || c === '?') out.push({ text: c, wild: true });
    else out.push({ text: c, wild: false });
  }
  return out;
}

function re2Escape(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function stringAtom(segments: readonly { text: string; wild: boolean }[], caseInsensitive: boolean): Atom {
  const literalWild = segments.some((s) => !s.wild && (s.text === '*' || s.text === '?'));
  if (!literalWild) return { kind: 'wildcard', pattern: segments.map((s) => s.text).join(''), caseInsensitive };
  // A literal * or ?: the wildcard matcher cannot say it, a regex can.
  const regex = segments.map((s) => (s.wild ? (s.text === '*' ? '.*' : '.') : re2Escape(s.text))).join('');
  return { kind: 'literal-regex', regex, caseInsensitive };
}

function utf16(value: string, order: 'le' | 'be', bom: boolean): Buffer {
  const le = Buffer.from(value, 'utf16le');
  const body = order === 'le' ? le : Buffer.from(le.map((_, i) => le[i % 2 === 0 ? i + 1 : i - 1]));
  return bom ? Buffer.concat([Buffer.from(order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), body]) : body;
}

function base64Offsets(bytes: Buffer): string[] {
  const starts = [0, 2, 3];
  const ends = [undefined, -3, -2];
  return [0, 1, 2].map((i) => {
    const enc = Buffer.concat([Buffer.alloc(i, ' '), bytes]).toString('base64');
    const end = ends[(bytes.length + i) % 3];
    return enc.slice(starts[i], end);
  });
}

const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

function windash(value: string): string[] {
  if (!/(^|\s)[-/]/.test(value)) return [value];
  return DASHES.map((d) => value.replace(/(^|\s)[-/]/g, `$1${d}`));
}

export function compileItemSpec(modifiers: readonly string[], rawValues: readonly unknown[], placeholders: Readonly<Record<string, readonly string[]>>): ItemSpec {
  for (const m of modifiers) if (!KNOWN.has(m)) throw new SigmaValueError(`unknown modifier '${m}'`);
  const has = (m: string) => modifiers.includes(m);
  const all = has('all');
  const caseInsensitive = !has('cased');
  if (has('exists')) {
    if (rawValues.length !== 1 || typeof rawValues[0] !== 'boolean') throw new SigmaValueError('exists takes true or false');
    return { groups: [[{ kind: 'exists', value: rawValues[0] }]], all: false };
  }
  if (has('fieldref')) {
    return { groups: rawValues.map((v) => {
      if (typeof v !== 'string') throw new SigmaValueError('fieldref takes field names');
      return [{ kind: 'fieldref', field: v } as const];
    }), all };
  }
  const cmp = (['gt', 'gte', 'lt', 'lte'] as const).find((m) => has(m));
  if (cmp) {
    return { groups: rawValues.map((v) => {
      const n = typeof v === 'number' ? v : Number(v);
      if (typeof v === 'boolean' || v === null || !Number.isFinite(n)) throw new SigmaValueError(`${cmp} takes numbers, found ${JSON.stringify(v)}`);
      return [{ kind: 'number', op: cmp, value: n } as const];
    }), all };
  }
  if (has('cidr')) {
    return { groups: rawValues.map((v) => {
      if (typeof v !== 'string' || !v.includes('/')) throw new SigmaValueError(`cidr takes network blocks like 10.0.0.0/8, found ${JSON.stringify(v)}`);
      return [{ kind: 'cidr', block: v } as const];
    }), all };
  }
  let values: unknown[] = [...rawValues];
  if (has('expand')) {
    values = values.flatMap((v) => {
      if (typeof v !== 'string') return [v];
      const m = /%([A-Za-z0-9_]+)%/.exec(v);
      if (!m) return [v];
      const list = placeholders[m[1]];
      if (!list) throw new SigmaValueError(`placeholder %${m[1]}% has no value (define it in mappings/sigma/placeholders.json)`);
      return list.map((x) => v.replace(m[0], x));
    });
  }
  if (has('re')) {
    const flags = ['i', 'm', 's'].filter((f) => has(f)).join('');
    return { groups: values.map((v) => {
      if (typeof v !== 'string') throw new SigmaValueError('re takes a regular expression string');
      try {
        RE2JS.compile(v);
      } catch (err) {
        throw new SigmaValueError(`invalid regular expression ${JSON.stringify(v)}: ${(err as Error).message.replace(/`.*$/, '').trim()}`);
      }
      return [{ kind: 'regex', regex: v, flags } as const];
    }), all };
  }
  const groups: Atom[][] = [];
  for (const v of values) {
    if (v === null) {
      groups.push([{ kind: 'null' }]);
      continue;
    }
    if (typeof v === 'boolean') {
      groups.push([{ kind: 'boolean', value: v }]);
      continue;
    }
    if (typeof v === 'number' && !modifiers.some((m) => ['contains', 'startswith', 'endswith', 'base64', 'base64offset', 'windash'].includes(m))) {
      groups.push([{ kind: 'number', op: 'eq', value: v }]);
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number') throw new SigmaValueError(`unsupported value ${JSON.stringify(v)}`);
    let variants: string[] = [String(v)];
    let encoded = false;
    for (const m of modifiers) {
      if (m === 'windash') variants = variants.flatMap(windash);
      else if (m === 'base64' || m === 'base64offset') {
        const wide = has('wide') || has('utf16le') ? 'le' : has('utf16be') ? 'be' : has('utf16') ? 'le-bom' : null;
        variants = variants.flatMap((s) => {
          const bytes = wide === null ? Buffer.from(s, 'utf8') : utf16(s, wide === 'be' ? 'be' : 'le', wide === 'le-bom');
          return m === 'base64' ? [bytes.toString('base64')] : base64Offsets(bytes);
        });
        encoded = true;
      }
    }
    groups.push(variants.map((variant) => {
      // Encoded values are literal text: their characters are not wildcards.
      let segments = encoded ? [...variant].map((text) => ({ text, wild: false })) : parseSigmaString(variant);
      if (has('contains')) segments = [{ text: '*', wild: true }, ...segments, { text: '*', wild: true }];
      else if (has('startswith')) segments = [...segments, { text: '*', wild: true }];
      else if (has('endswith')) segments = [{ text: '*', wild: true }, ...segments];
      return stringAtom(segments, caseInsensitive && !encoded);
    }));
  }
  return { groups, all };
}

/** A test of one atom against the values of one field. */
export function atomTest(atom: Atom): (values: readonly Primitive[], doc: unknown, get: (field: string) => Primitive[]) => boolean {
  switch (atom.kind) {
    case 'wildcard': {
      const m = compileWildcard(atom.caseInsensitive ? atom.pattern.toLowerCase() : atom.pattern);
      return (vs) => vs.some((v) => m(atom.caseInsensitive ? String(v).toLowerCase() : String(v)));
    }
    case 'literal-regex': {
      const re = RE2JS.compile(`^(?:${atom.regex})$`, RE2JS.DOTALL | (atom.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
      return (vs) => vs.some((v) => re.matches(String(v)));
    }
    case 'regex': {
      const flags = (atom.flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (atom.flags.includes('m') ? RE2JS.MULTILINE : 0) | (atom.flags.includes('s') ? RE2JS.DOTALL : 0);
      const re = RE2JS.compile(atom.regex, flags);
      return (vs) => vs.some((v) => re.matcher(String(v)).find());
    }
    case 'number': {
      const { op, value } = atom;
      return (vs) => vs.some((v) => {
        const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        if (!Number.isFinite(n)) return false;
        return op === 'eq' ? n === value : op === 'gt' ? n > value : op === 'gte' ? n >= value : op === 'lt' ? n < value : n <= value;
      });
    }
    case 'boolean':
      return (vs) => vs.some((v) => v === atom.value || String(v).toLowerCase() === String(atom.value));
    case 'null':
      return (vs) => vs.length === 0;
    case 'exists':
      return (vs) => (vs.length > 0) === atom.value;
    case 'cidr':
      return (vs) => vs.some((v) => typeof v === 'string' && cidrContains(v, atom.block));
    case 'fieldref':
      return (vs, _doc, get) => {
        const other = get(atom.field);
        return vs.some((v) => other.some((o) => String(o) === String(v)));
      };
  }
}

export { hasWildcard };
