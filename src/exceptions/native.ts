/**
 * Lookout's own exceptions files, for rules from TOML and Sigma (and any rule): YAML files named
 * `*.exceptions.yml` (or `.yaml`) anywhere under the rules folder. A file is one exception list;
 * it applies to the rules named in `rule_ids`, and to any rule whose `exceptions_list` names its
 * `list_id`. Items use Kibana's entry shape, so an item copied from an export works unchanged:
 *
 *   list_id: noisy-admin-tools        # optional; default: the file name without .exceptions.yml
 *   rule_ids: [<rule_id>, ...]
 *   items:
 *     - comment: backup agent, ticket 123
 *       expire_time: 2027-01-01T00:00:00Z      # optional
 *       os_types: [windows]                     # optional
 *       entries:
 *         - { field: process.name, operator: included, type: match, value: backup.exe }
 *
 * Errors name the file, the item and the field, at the line and column the YAML parser gives.
 */
import { basename } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import * as z from 'zod';
import { RuleLoadError } from '../errors.js';
import { entry, namespaceType, osType, type ExceptionList } from './model.js';

export const EXCEPTIONS_FILE = /\.exceptions\.ya?ml$/;

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO 8601 date such as 2026-12-31T00:00:00Z');

const fileSchema = z.strictObject({
  list_id: z.string().min(1, 'must not be empty').optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  namespace_type: namespaceType.default('single'),
  rule_ids: z.array(z.string().min(1, 'must not be empty')).default([]),
  items: z.array(z.strictObject({
    item_id: z.string().min(1, 'must not be empty').optional(),
    name: z.string().optional(),
    comment: z.string().optional(),
    // YAML reads an unquoted timestamp as a string (core schema), a quoted one too.
    expire_time: z.union([isoDate, z.date().transform((d) => d.toISOString())]).optional(),
    os_types: z.array(osType).default([]),
    entries: z.array(entry).min(1, 'needs at least one entry'),
  })).min(1, 'needs at least one item'),
});

export interface NativeExceptions {
  readonly list: ExceptionList;
  readonly ruleIds: readonly string[];
}

function position(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): { line?: number; column?: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
    if (range) {
      const { line, col } = lines.linePos(range[0]);
      return { line, column: col };
    }
  }
  return {};
}

export function readNativeExceptions(file: string, text: string): NativeExceptions {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lines.linePos(e.pos[0]);
    throw new RuleLoadError(file, `YAML syntax error: ${e.message.split('\n')[0]}`, { line, column: col, cause: e });
  }
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path;
    const item = path[0] === 'items' && typeof path[1] === 'number' ? `item ${path[1]}: ` : '';
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new RuleLoadError(file, `${item}${path.map(String).join('.') || 'file'}: ${issue.message}${more}`, position(doc, lines, path));
  }
  const f = parsed.data;
  const listId = f.list_id ?? basename(file).replace(EXCEPTIONS_FILE, '');
  const items = f.items.map((it, i) => Object.freeze({
    source: `${file} items[${i}]${it.item_id ? ` (item ${it.item_id})` : ''}`,
    itemId: it.item_id ?? `${listId}-${i}`,
    entries: Object.freeze(it.entries),
    osTypes: Object.freeze(it.os_types),
    expiresAt: it.expire_time === undefined ? undefined : Date.parse(it.expire_time),
  }));
  return Object.freeze({
    list: Object.freeze({
      ref: Object.freeze({ id: listId, list_id: listId, type: 'detection' as const, namespace_type: f.namespace_type }),
      file,
      items: Object.freeze(items),
    }),
    ruleIds: Object.freeze(f.rule_ids),
  });
}
