/**
 * Source fields copied into an alert must fit the alerts index, or the whole alert is refused
 * (a 400 that no retry cures). Before writing, each copied field is checked against the type
 * the alerts template gives it: one that does not fit (an object where the template has a
 * keyword, a word where it has an IP or a number, a value where it has an object) is taken out
 * and kept whole as JSON text under `lookout.unmapped_source`, its name listed in
 * `lookout.unmapped_fields`. Fields the template does not map are left to dynamic mapping; if
 * the index still refuses one, the writer moves it the same way (writer.ts) and writes again.
 */
import { isIP } from 'node:net';
import { readMapping } from '../config/mappings.js';

/** Top-level objects the alert copies from events: only these are ever moved aside. */
export const COPIED_ROOTS: readonly string[] = ['host', 'source', 'destination', 'user', 'process'];

interface MappingNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, MappingNode>>;
}

let templateProperties: Readonly<Record<string, MappingNode>> | undefined;

function properties(): Readonly<Record<string, MappingNode>> {
  if (!templateProperties) {
    const t = readMapping('alerts-template.json') as { template: { mappings: { properties: Record<string, MappingNode> } } };
    templateProperties = t.template.mappings.properties;
  }
  return templateProperties;
}

const INTEGER = /^-?\d+$/;

/** Whether one scalar value can be indexed as `type`. */
function scalarFits(type: string, v: unknown): boolean {
  if (v === null) return true;
  switch (type) {
    case 'keyword':
    case 'text':
    case 'wildcard':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    case 'long':
    case 'integer':
    case 'short':
    case 'byte':
      return (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && INTEGER.test(v));
    case 'float':
    case 'double':
    case 'scaled_float':
      return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)));
    case 'ip':
      return typeof v === 'string' && isIP(v.replace(/%.*$/, '')) !== 0;
    case 'date':
      return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
    case 'boolean':
      return typeof v === 'boolean' || v === 'true' || v === 'false';
    default:
      return false;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `value` with what does not fit `node` taken out (into `out`, by dotted path). Returns
 * undefined when nothing of it is left.
 */
function fitValue(node: MappingNode | undefined, value: unknown, path: string, out: Map<string, unknown>): unknown {
  if (node === undefined) return value;
  if (node.properties) {
    if (!isPlainObject(value)) {
      // An array of objects fits an object mapping too.
      if (Array.isArray(value) && value.every(isPlainObject)) return value.map((v) => fitObject(node.properties!, v, path, out));
      out.set(path, value);
      return undefined;
    }
    return fitObject(node.properties, value, path, out);
  }
  if (node.type === undefined || node.type === 'object') return value;
  const values = Array.isArray(value) ? value : [value];
  if (values.every((v) => scalarFits(node.type!, v))) return value;
  out.set(path, value);
  return undefined;
}

function fitObject(props: Readonly<Record<string, MappingNode>>, obj: Record<string, unknown>, path: string, out: Map<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    // A dotted key ("os.type") is the same field as the nested one.
    const parts = k.split('.');
    let node: MappingNode | undefined = props[parts[0]];
    for (const p of parts.slice(1)) node = node?.properties?.[p];
    const kept = fitValue(node, v, `${path}.${k}`, out);
    if (kept !== undefined) result[k] = kept;
  }
  return result;
}

/** The alert document with its copied fields checked against the alerts template. */
export function fitToTemplate(doc: Record<string, unknown>): Record<string, unknown> {
  const out = new Map<string, unknown>();
  const props = properties();
  const fitted: Record<string, unknown> = { ...doc };
  for (const root of COPIED_ROOTS) {
    if (!(root in doc) || doc[root] === undefined) continue;
    const kept = fitValue(props[root], doc[root], root, out);
    if (kept === undefined) delete fitted[root];
    else fitted[root] = kept;
  }
  return out.size === 0 ? doc : withUnmapped(fitted, out);
}

/** Adds fields to `lookout.unmapped_source` (JSON text) and `lookout.unmapped_fields`. */
export function withUnmapped(doc: Record<string, unknown>, fields: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const lookout = isPlainObject(doc.lookout) ? { ...doc.lookout } : {};
  const before = typeof lookout.unmapped_source === 'string' ? JSON.parse(lookout.unmapped_source) as Record<string, unknown> : {};
  const all = { ...before, ...Object.fromEntries(fields) };
  lookout.unmapped_source = JSON.stringify(all);
  lookout.unmapped_fields = Object.keys(all);
  return { ...doc, lookout };
}

/**
 * Takes the field at dotted `path` out of a copied root of `doc` (keys may themselves hold dots).
 * Returns the value taken, or undefined when the path is not under a copied root or not there.
 */
export function takeCopiedField(doc: Record<string, unknown>, path: string): { value: unknown } | undefined {
  const root = COPIED_ROOTS.find((r) => path === r || path.startsWith(`${r}.`));
  if (!root) return undefined;
  return take(doc, path);
}

function take(obj: Record<string, unknown>, path: string): { value: unknown } | undefined {
  if (Object.hasOwn(obj, path)) {
    const value = obj[path];
    delete obj[path];
    return { value };
  }
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (path.startsWith(`${k}.`) && isPlainObject(v)) {
      const got = take(v, path.slice(k.length + 1));
      if (got) return got;
    }
  }
  return undefined;
}
