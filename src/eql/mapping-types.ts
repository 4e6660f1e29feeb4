/**
 * Field types for typed EQL comparisons (eql/types.ts), from what Elasticsearch says about a
 * field: a `_field_caps` response (at execution, already fetched for the pushdown) or an index
 * mapping (`lookout test-rule --mapping <file>`: the body of `GET <index>/_mapping`, a
 * `{"mappings": ...}` or `{"properties": ...}` object, or a `_field_caps` response). A field
 * whose indices disagree on its type gets no type; aliases take their target's type.
 */
import { MappingFileError } from '../errors.js';
import type { Primitive } from './fields.js';
import { dateParserFor } from './date-format.js';
import type { FieldType, FieldTypeMap } from './types.js';
import type { FieldTypes } from '../search/field-caps.js';

/** From `fetchFieldTypes`: a field mapped with one type (where it is mapped) has that type. */
export function fieldTypesFromCaps(types: FieldTypes): FieldTypeMap {
  const out = new Map<string, FieldType>();
  for (const [name, set] of types) {
    const mapped = [...set].filter((t) => t !== 'unmapped');
    if (mapped.length === 1) out.set(name, { type: mapped[0] });
  }
  return out;
}

/** Field types from a mapping or `_field_caps` document; `where` names it in errors. */
export function fieldTypesFromDocument(doc: unknown, where: string): FieldTypeMap {
  if (!isObject(doc)) throw new MappingFileError(`${where}: expected a JSON object (an index mapping or a _field_caps response)`);
  if (isObject(doc.fields) && !isObject(doc.properties)) return fromCaps(doc.fields, where);
  const collected = new Map<string, (FieldType | null)>();
  const aliases = new Map<string, string>();
  const roots: [string, Record<string, unknown>][] = [];
  if (isObject(doc.properties)) roots.push([where, doc.properties]);
  else if (isObject(doc.mappings) && isObject(doc.mappings.properties)) roots.push([where, doc.mappings.properties]);
  else {
    for (const [index, body] of Object.entries(doc)) {
      if (isObject(body) && isObject(body.mappings) && isObject(body.mappings.properties)) roots.push([`${where}: ${index}`, body.mappings.properties]);
    }
  }
  if (roots.length === 0) throw new MappingFileError(`${where}: no "properties" found; expected GET <index>/_mapping output, {"mappings": {"properties": ...}}, {"properties": ...} or a _field_caps response`);
  for (const [at, props] of roots) walk(props, '', at, collected, aliases);
  for (const [alias, path] of aliases) {
    const target = collected.get(path);
    if (target !== undefined && target !== null) merge(collected, alias, target);
  }
  const out = new Map<string, FieldType>();
  for (const [name, t] of collected) if (t) out.set(name, t);
  return out;
}

function walk(props: Record<string, unknown>, prefix: string, where: string, out: Map<string, FieldType | null>, aliases: Map<string, string>): void {
  for (const [name, def] of Object.entries(props)) {
    const path = prefix + name;
    if (!isObject(def)) throw new MappingFileError(`${where}: field ${path}: expected an object`);
    if (isObject(def.properties)) walk(def.properties, `${path}.`, where, out, aliases);
    if (typeof def.type === 'string' && def.type !== 'object' && def.type !== 'nested') {
      if (def.type === 'alias') {
        if (typeof def.path !== 'string') throw new MappingFileError(`${where}: field ${path}: an alias needs a "path"`);
        aliases.set(path, def.path);
      } else {
        const nv = def.null_value;
        if (nv !== undefined && nv !== null && typeof nv !== 'string' && typeof nv !== 'number' && typeof nv !== 'boolean') {
          throw new MappingFileError(`${where}: field ${path}: null_value must be a string, number or boolean`);
        }
        let format: string | undefined;
        if ((def.type === 'date' || def.type === 'date_nanos') && def.format !== undefined) {
          if (typeof def.format !== 'string' || dateParserFor(def.format) === undefined) {
            throw new MappingFileError(`${where}: field ${path}: date format ${JSON.stringify(def.format)} is not one Lookout reads (built-in ISO and epoch formats, or patterns of yyyy MM dd HH mm ss S X and literals)`);
          }
          format = def.format;
        }
        merge(out, path, { type: def.type, ...(nv !== undefined && nv !== null ? { nullValue: nv as Primitive } : {}), ...(format ? { format } : {}) });
      }
    }
    if (isObject(def.fields)) walk(def.fields, `${path}.`, where, out, aliases);
  }
}

/** Indices that agree on a field's type keep it (date formats add up: a value may be in either); others drop it. */
function merge(out: Map<string, FieldType | null>, path: string, t: FieldType): void {
  const prev = out.get(path);
  if (prev === undefined) out.set(path, t);
  else if (prev !== null && (prev.type !== t.type || prev.nullValue !== t.nullValue)) out.set(path, null);
  else if (prev !== null && prev.format !== t.format) {
    const formats = [...new Set([...(prev.format ?? 'strict_date_optional_time||epoch_millis').split('||'), ...(t.format ?? 'strict_date_optional_time||epoch_millis').split('||')])];
    out.set(path, { ...prev, format: formats.join('||') });
  }
}

function fromCaps(fields: Record<string, unknown>, where: string): FieldTypeMap {
  const out = new Map<string, FieldType>();
  for (const [name, byType] of Object.entries(fields)) {
    if (!isObject(byType)) throw new MappingFileError(`${where}: fields.${name}: expected an object of types`);
    const types = Object.keys(byType).filter((t) => t !== 'unmapped');
    if (types.length === 1) out.set(name, { type: types[0] });
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
