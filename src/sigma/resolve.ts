/**
 * Field resolution: a Sigma field maps, in a pipeline, to a list of candidates, and each event
 * resolves it to the first candidate it has. One rule can so run over an index pattern that
 * holds several layouts of the same data (Winlogbeat through Logstash keeps
 * `winlog.event_data.Image`; Winlogbeat 8's ingest pipelines move it to `process.executable`).
 *
 * A candidate is a field path (`process.executable`), a template that rebuilds a value the
 * ingest pipelines split (`{user.domain}\{user.name}`: present when every field in it is), or a
 * group of templates whose present members are all values of the field (Sysmon's `Hashes`,
 * which the pipelines split into `process.hash.*`), or a field whose values the pipelines
 * translated (`{"field": "network.direction", "map": {"egress": "true"}}`: Sysmon's
 * `Initiated`). Only field paths push down.
 */
import { compileGetter, type Getter, type Primitive } from '../eql/fields.js';

/** A field whose values the pipelines translated: back through `map`, or printed as `format` says. */
export interface TranslatedSpec {
  readonly field: string;
  readonly map?: Readonly<Record<string, string>>;
  /** `dword`: a decimal number printed as Sysmon writes a DWORD, `DWORD (0x0000000a)`. */
  readonly format?: 'dword';
  /** Only when these fields have these values (`{"registry.data.type": "SZ_DWORD"}`). */
  readonly when?: Readonly<Record<string, string>>;
}

export type CandidateSpec = string | readonly string[] | TranslatedSpec;

const FORMATS: Readonly<Record<string, (v: Primitive) => string | undefined>> = {
  dword: (v) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? `DWORD (0x${n.toString(16).padStart(8, '0')})` : undefined;
  },
};

export interface Candidate {
  /** The field path, when the candidate is a plain field (the only kind that pushes down). */
  readonly field: string | null;
  /** Every field the candidate reads (for `_source` filtering and `_field_caps`). */
  readonly reads: readonly string[];
  /** Its values in a document; empty when the document does not have it. */
  readonly get: Getter;
}

export interface Resolution {
  readonly candidates: readonly Candidate[];
  /** The values of the first candidate the document has (empty when it has none). */
  readonly get: Getter;
}

const PLACEHOLDER = /\{([^{}]+)\}/g;

function template(text: string, getters: Map<string, Getter>): { reads: string[]; get: (doc: unknown) => string | undefined } {
  const reads = [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
  for (const r of reads) if (!getters.has(r)) getters.set(r, compileGetter(r));
  return {
    reads,
    get: (doc) => {
      let missing = false;
      const out = text.replace(PLACEHOLDER, (_, f: string) => {
        const v = getters.get(f)!(doc)[0];
        if (v === undefined) missing = true;
        return v === undefined ? '' : String(v);
      });
      return missing ? undefined : out;
    },
  };
}

const EMPTY: readonly Primitive[] = [];

export function compileCandidate(spec: CandidateSpec, getters: Map<string, Getter> = new Map()): Candidate {
  if (typeof spec === 'string' && !spec.includes('{')) {
    let get = getters.get(spec);
    if (!get) {
      get = compileGetter(spec);
      getters.set(spec, get);
    }
    return { field: spec, reads: [spec], get };
  }
  if (typeof spec === 'object' && !Array.isArray(spec)) {
    const { field, map, format, when } = spec as TranslatedSpec;
    const get = compileGetter(field);
    const conditions = Object.entries(when ?? {}).map(([f, want]) => ({ get: compileGetter(f), want }));
    const translate = format ? FORMATS[format] : (v: Primitive) => map?.[String(v)];
    return {
      field: null,
      reads: [field, ...Object.keys(when ?? {})],
      get: (doc) => {
        if (!conditions.every((c) => c.get(doc).some((v) => String(v) === c.want))) return EMPTY;
        const out = get(doc).map(translate).filter((v): v is string => v !== undefined);
        return out.length > 0 ? out : EMPTY;
      },
    };
  }
  const parts = (typeof spec === 'string' ? [spec] : spec as readonly string[]).map((t) => template(t, getters));
  return {
    field: null,
    reads: [...new Set(parts.flatMap((p) => p.reads))],
    get: (doc) => {
      const out: Primitive[] = [];
      for (const p of parts) {
        const v = p.get(doc);
        if (v !== undefined) out.push(v);
      }
      return out.length > 0 ? out : EMPTY;
    },
  };
}

export function resolution(specs: readonly CandidateSpec[], getters: Map<string, Getter> = new Map()): Resolution {
  const candidates = specs.map((s) => compileCandidate(s, getters));
  if (candidates.length === 1) return { candidates, get: candidates[0].get };
  return {
    candidates,
    get: (doc) => {
      for (const c of candidates) {
        const v = c.get(doc);
        if (v.length > 0) return v;
      }
      return EMPTY;
    },
  };
}
