/**
 * A Sigma detection compiled for one pipeline: a predicate over event documents and a
 * superset query for Elasticsearch, from the search identifiers, the condition and the
 * pipeline's field mapping and logsource conditions. Errors name the detection path
 * (`detection.selection.NewProcessName|endswith`) so the loader can place them in the file.
 */
import { compileGetter, type Getter, type Primitive } from '../eql/fields.js';
import { compileWildcard } from '../eql/wildcard.js';
import { anyOf, NONE, type Pushdown, type Translation } from '../search/pushdown.js';
import type { Condition } from './condition.js';
import { type LogsourceCondition, mapField, type Pipeline } from './pipeline.js';
import { resolution, type Resolution } from './resolve.js';
import { type Atom, atomTest, compileItemSpec, SigmaValueError } from './values.js';

export type DocPredicate = (doc: unknown) => boolean;

export class DetectionError extends Error {
  constructor(message: string, readonly path: readonly (string | number)[]) {
    super(message);
  }
}

export interface CompiledDetection {
  readonly matches: DocPredicate;
  readonly translate: (pd: Pushdown) => Translation;
  /** Target fields read (after mapping). */
  readonly fields: readonly string[];
  /** Per Sigma field of the detection: the fields its candidates read. */
  readonly sigmaFields: ReadonlyMap<string, readonly string[]>;
}

interface Part {
  readonly matches: DocPredicate;
  readonly translate: (pd: Pushdown) => Translation;
}

function looseEquals(v: Primitive, want: string | number | boolean): boolean {
  if (typeof want === 'number') return (typeof v === 'number' ? v : Number(v)) === want;
  return String(v) === String(want);
}

/**
 * The query for "the first candidate the event has passes": c1 passes, or c1 is missing and c2
 * passes, and so on. Exact when each candidate's query is exact, so a negated selection over
 * several layouts still pushes down.
 */
function firstPresent(pd: Pushdown, all: readonly string[], one: (field: string) => Translation): Translation {
  // A candidate no target index maps is absent from every event there (Winlogbeat 8's indices
  // have no winlog.event_data.Image): it neither passes nor shadows the ones after it.
  const known = all.filter((f) => pd.known(f));
  const fields = known.length > 0 ? known : all;
  if (fields.length === 1) return one(fields[0]);
  const alternatives = fields.map((f, i) => {
    const before = fields.slice(0, i).map((b): Translation => ({ query: { bool: { must_not: [{ exists: { field: b } }] } }, exact: true }));
    const t = one(f);
    return t.query === null ? NONE : pd.allOf([...before, t]);
  });
  return anyOf(alternatives);
}

function stringLeaves(node: unknown, out: string[], depth = 0): void {
  if (depth > 32 || node === null || node === undefined) return;
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const n of node) stringLeaves(n, out, depth + 1);
  else if (typeof node === 'object') for (const v of Object.values(node as Record<string, unknown>)) stringLeaves(v, out, depth + 1);
}

export class DetectionCompiler {
  private readonly getters = new Map<string, Getter>();
  readonly resolutions = new Map<string, Resolution>();
  readonly fields = new Set<string>();

  constructor(private readonly pipeline: Pipeline, private readonly placeholders: Readonly<Record<string, readonly string[]>>) {}

  private get(field: string): Getter {
    this.fields.add(field);
    let g = this.getters.get(field);
    if (!g) {
      g = compileGetter(field);
      this.getters.set(field, g);
    }
    return g;
  }

  /** A Sigma field's resolution in this pipeline (null: no mapping here). */
  private resolve(sigmaField: string): Resolution | null {
    let r = this.resolutions.get(sigmaField);
    if (!r) {
      const specs = mapField(this.pipeline, sigmaField);
      if (!specs) return null;
      r = resolution(specs, this.getters);
      r.candidates.forEach((c) => c.reads.forEach((f) => this.fields.add(f)));
      this.resolutions.set(sigmaField, r);
    }
    return r;
  }

  private atomPart(atom: Atom, res: Resolution): Part {
    // fieldref: the other field resolves like any other, once, here (its fields are read too).
    const other = atom.kind === 'fieldref' ? (this.resolve(atom.field) ?? resolution([atom.field], this.getters)) : null;
    if (other) other.candidates.forEach((c) => c.reads.forEach((f) => this.fields.add(f)));
    const test = atomTest(atom);
    const get = res.get;
    const matches: DocPredicate = (doc) => test(get(doc), doc, () => (other ? [...other.get(doc)] : []));
    const fields = res.candidates.map((c) => c.field);
    const translate = (pd: Pushdown): Translation => {
      if (fields.some((f) => f === null)) {
        // A template candidate does not push down; `null` still can (no candidate's fields exist).
        if (atom.kind !== 'null') return NONE;
      }
      const one = (t: string): Translation => {
        switch (atom.kind) {
          case 'wildcard':
            return pd.wildcard(t, atom.pattern, atom.caseInsensitive);
          case 'number':
            return atom.op === 'eq' ? pd.termFor(t, atom.value, false) : pd.range(t, atom.op, atom.value);
          case 'boolean':
            return pd.termFor(t, atom.value, false);
          case 'exists':
            return atom.value ? pd.exists(t) : NONE;
          case 'cidr':
            return pd.cidr(t, atom.block);
          case 'null':
            return pd.exists(t).query ? { query: { bool: { must_not: [{ exists: { field: t } }] } }, exact: false } : NONE;
          default:
            return NONE;
        }
      };
      // Null: no candidate present. A template is absent as soon as one of its fields is, so it
      // constrains nothing (a superset); only plain fields must be absent.
      if (atom.kind === 'null') return pd.allOf(res.candidates.map((c) => (c.field === null ? NONE : one(c.field))));
      if (atom.kind === 'exists') return anyOf(fields.map((f) => one(f!)));
      return firstPresent(pd, fields as string[], one);
    };
    return { matches, translate };
  }

  private item(key: string, value: unknown, path: (string | number)[]): Part {
    const [field, ...modifiers] = key.split('|');
    const targets = this.resolve(field);
    if (!targets) throw new DetectionError(`field ${field} has no mapping in pipeline ${this.pipeline.name}`, path);
    let spec;
    try {
      spec = compileItemSpec(modifiers.map((m) => m.toLowerCase()), Array.isArray(value) ? value : [value], this.placeholders);
    } catch (err) {
      if (err instanceof SigmaValueError) throw new DetectionError(err.message, path);
      throw err;
    }
    const groups = spec.groups.map((atoms) => {
      const parts = atoms.map((a) => this.atomPart(a, targets));
      return {
        matches: (doc: unknown) => parts.some((p) => p.matches(doc)),
        translate: (pd: Pushdown) => anyOf(parts.map((p) => p.translate(pd))),
      };
    });
    if (groups.length === 0) return { matches: () => false, translate: () => ({ query: { match_none: {} }, exact: true }) };
    if (spec.all) {
      return { matches: (doc) => groups.every((g) => g.matches(doc)), translate: (pd) => pd.allOf(groups.map((g) => g.translate(pd))) };
    }
    return { matches: (doc) => groups.some((g) => g.matches(doc)), translate: (pd) => anyOf(groups.map((g) => g.translate(pd))) };
  }

  private keywords(values: readonly unknown[], path: (string | number)[]): Part {
    const tests = values.map((v, i) => {
      if (typeof v !== 'string' && typeof v !== 'number') throw new DetectionError('keywords must be strings or numbers', [...path, i]);
      const spec = compileItemSpec(['contains'], [v], this.placeholders);
      const atoms = spec.groups[0];
      return atoms.map((a) => (a.kind === 'wildcard' ? compileWildcard(a.caseInsensitive ? a.pattern.toLowerCase() : a.pattern) : () => false));
    });
    return {
      matches: (doc) => {
        const leaves: string[] = [];
        stringLeaves(doc, leaves);
        const lower = leaves.map((l) => l.toLowerCase());
        return tests.some((alts) => alts.some((t) => lower.some((l) => t(l))));
      },
      translate: () => NONE,
    };
  }

  /** One search identifier: a map (AND), a list of maps (OR), or keywords. */
  searchIdentifier(name: string, value: unknown): Part {
    const path: (string | number)[] = ['detection', name];
    const map = (obj: Record<string, unknown>, p: (string | number)[]): Part => {
      const entries = Object.entries(obj);
      if (entries.length === 0) throw new DetectionError('empty map', p);
      const parts = entries.map(([k, v]) => this.item(k, v, [...p, k]));
      return { matches: (doc) => parts.every((x) => x.matches(doc)), translate: (pd) => pd.allOf(parts.map((x) => x.translate(pd))) };
    };
    if (value && typeof value === 'object' && !Array.isArray(value)) return map(value as Record<string, unknown>, path);
    if (Array.isArray(value)) {
      if (value.length > 0 && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
        const parts = value.map((v, i) => map(v as Record<string, unknown>, [...path, i]));
        return { matches: (doc) => parts.some((x) => x.matches(doc)), translate: (pd) => anyOf(parts.map((x) => x.translate(pd))) };
      }
      return this.keywords(value, path);
    }
    if (typeof value === 'string' || typeof value === 'number') return this.keywords([value], path);
    throw new DetectionError('a search identifier must be a map, a list or a keyword', path);
  }

  logsource(conditions: readonly LogsourceCondition[]): Part {
    const parts = conditions.map((c) => {
      const maps = 'all' in c ? [c.all] : c.any;
      const compiled = maps.map((m) => {
        const entries = Object.entries(m).map(([field, want]) => {
          const get = this.get(field);
          const wants = Array.isArray(want) ? want : [want];
          return {
            matches: (doc: unknown) => get(doc).some((v) => wants.some((w) => looseEquals(v, w))),
            translate: (pd: Pushdown) => anyOf(wants.map((w) => pd.termFor(field, w, false))),
          };
        });
        return {
          matches: (doc: unknown) => entries.every((e) => e.matches(doc)),
          translate: (pd: Pushdown) => pd.allOf(entries.map((e) => e.translate(pd))),
        };
      });
      return {
        matches: (doc: unknown) => compiled.some((x) => x.matches(doc)),
        translate: (pd: Pushdown) => anyOf(compiled.map((x) => x.translate(pd))),
      };
    });
    return { matches: (doc) => parts.every((p) => p.matches(doc)), translate: (pd) => pd.allOf(parts.map((p) => p.translate(pd))) };
  }
}

export function compileDetection(
  pipeline: Pipeline,
  placeholders: Readonly<Record<string, readonly string[]>>,
  identifiers: Readonly<Record<string, unknown>>,
  condition: Condition,
  logsource: readonly LogsourceCondition[],
): CompiledDetection {
  const c = new DetectionCompiler(pipeline, placeholders);
  const parts = new Map<string, Part>();
  const part = (name: string): Part => {
    let p = parts.get(name);
    if (!p) {
      p = c.searchIdentifier(name, identifiers[name]);
      parts.set(name, p);
    }
    return p;
  };
  const names = Object.keys(identifiers);
  const build = (cond: Condition): Part => {
    switch (cond.kind) {
      case 'id':
        if (!(cond.name in identifiers)) throw new DetectionError(`condition names '${cond.name}', which is not a search identifier (column ${cond.column})`, ['detection', 'condition']);
        return part(cond.name);
      case 'and': {
        const xs = cond.items.map(build);
        return { matches: (doc) => xs.every((x) => x.matches(doc)), translate: (pd) => pd.allOf(xs.map((x) => x.translate(pd))) };
      }
      case 'or': {
        const xs = cond.items.map(build);
        return { matches: (doc) => xs.some((x) => x.matches(doc)), translate: (pd) => anyOf(xs.map((x) => x.translate(pd))) };
      }
      case 'not': {
        const x = build(cond.item);
        return { matches: (doc) => !x.matches(doc), translate: (pd) => pd.not(x.translate(pd)) };
      }
      case 'of': {
        const test = cond.pattern === 'them' ? (n: string) => !n.startsWith('_') : compileWildcard(cond.pattern);
        const chosen = names.filter((n) => test(n));
        if (chosen.length === 0) throw new DetectionError(`'${cond.pattern}' matches no search identifier (column ${cond.column})`, ['detection', 'condition']);
        const xs = chosen.map(part);
        if (cond.quantifier === 'all') return { matches: (doc) => xs.every((x) => x.matches(doc)), translate: (pd) => pd.allOf(xs.map((x) => x.translate(pd))) };
        return { matches: (doc) => xs.some((x) => x.matches(doc)), translate: (pd) => anyOf(xs.map((x) => x.translate(pd))) };
      }
    }
  };
  const body = build(condition);
  const source = c.logsource(logsource);
  return {
    matches: (doc) => source.matches(doc) && body.matches(doc),
    translate: (pd) => pd.allOf([source.translate(pd), body.translate(pd)]),
    fields: [...c.fields],
    sigmaFields: new Map([...c.resolutions].map(([f, r]) => [f, r.candidates.flatMap((x) => x.reads)])),
  };
}
