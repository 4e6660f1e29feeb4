/**
 * The result table of an ES|QL run as Elasticsearch shows it (`lookout test-rule --table`): the
 * columns in order with their ES|QL types, then the rows, one line each, in the csv-spec layout
 * of Elasticsearch's own tests (`name:type | name:type`, values ` | `-separated, `null`, multi-values
 * as `[a, b]`), so a documented example can be checked line by line.
 */
import { type Row, toJson, typeOfValue } from './values.js';

export interface ResultTable {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
}

/** ES|QL's name for a mapped field type. */
const ESQL_TYPE: Readonly<Record<string, string>> = {
  date: 'datetime', date_nanos: 'date_nanos', float: 'double', half_float: 'double', scaled_float: 'double', double: 'double',
  long: 'long', integer: 'integer', short: 'integer', byte: 'integer', unsigned_long: 'unsigned_long',
  keyword: 'keyword', constant_keyword: 'keyword', wildcard: 'keyword', text: 'text', match_only_text: 'text',
  ip: 'ip', boolean: 'boolean', version: 'version', geo_point: 'geo_point',
};

/**
 * Columns are those of the rows, in order of first appearance. A column's type is the mapped type
 * of the source field of that name when the values agree with it (numbers for a numeric type,
 * text for the others), else the type of its first non-null value (`null` when it has none).
 */
export function resultTable(rows: readonly Row[], mapped?: ReadonlyMap<string, ReadonlySet<string>>): ResultTable {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of r.keys()) if (!seen.has(k)) (seen.add(k), names.push(k));
  const columns = names.map((name) => {
    const valueType = rows.map((r) => typeOfValue(r.get(name) ?? null)).find((t) => t !== 'null') ?? 'null';
    const types = [...(mapped?.get(name) ?? [])].map((t) => ESQL_TYPE[t]).filter((t): t is string => t !== undefined);
    const one = new Set(types).size === 1 ? types[0] : undefined;
    const numeric = (t: string) => ['long', 'integer', 'double', 'unsigned_long'].includes(t);
    const agrees = one !== undefined && (valueType === 'null' || numeric(one) === numeric(valueType) || (one === 'datetime' && valueType === 'datetime'));
    return { name, type: agrees ? one : valueType };
  });
  return { columns, rows: rows.map((r) => names.map((n) => toJson(r.get(n) ?? null))) };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(cell).join(', ')}]`;
  return String(v);
}

/** The table as lines: the header, then a line per row. */
export function formatTable(t: ResultTable): string[] {
  return [t.columns.map((c) => `${c.name}:${c.type}`).join(' | '), ...t.rows.map((r) => r.map(cell).join(' | '))];
}
