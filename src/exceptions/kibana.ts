/**
 * The exception lines of Kibana's rule export (NDJSON): list containers (`list_id`, `type`,
 * `namespace_type`) and their items (`item_id`, `entries`...), which the export writes after
 * the rules and before its summary line. Rule lines and the summary are left to the rule loader.
 * A bad exception line is an error naming the file, the line, the item and the field.
 */
import { RuleLoadError } from '../errors.js';
import { firstIssue, ndjsonLines } from '../rules/ndjson.js';
import { exceptionItemSchema, exceptionListSchema, type ExceptionItem, type ExceptionList, type ExceptionListRef } from './model.js';

export interface KibanaExceptions {
  readonly lists: readonly ExceptionList[];
  readonly errors: readonly RuleLoadError[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a parsed export line is an exception list container or item (not a rule, not the summary). */
export function isExceptionLine(obj: Record<string, unknown>): boolean {
  return 'list_id' in obj && !('rule_id' in obj) && !('exported_count' in obj);
}

export function readKibanaExceptions(file: string, text: string): KibanaExceptions {
  const errors: RuleLoadError[] = [];
  const containers = new Map<string, ExceptionListRef>();
  const items = new Map<string, ExceptionItem[]>();
  const key = (ns: string, id: string) => `${ns}:${id}`;
  for (const entry of ndjsonLines(text)) {
    const { line } = entry;
    // The rule loader reports lines that are not JSON.
    if ('notJson' in entry || !isObject(entry.value) || !isExceptionLine(entry.value)) continue;
    const value = entry.value;
    if ('item_id' in value || 'entries' in value) {
      const parsed = exceptionItemSchema.safeParse(value);
      const name = typeof value.item_id === 'string' ? value.item_id : '?';
      if (!parsed.success) {
        errors.push(new RuleLoadError(file, `exception item ${name}: ${firstIssue(parsed.error.issues, 'line')}`, { line, column: 1 }));
        continue;
      }
      const it = parsed.data;
      const k = key(it.namespace_type, it.list_id);
      if (!items.has(k)) items.set(k, []);
      items.get(k)!.push(Object.freeze({
        source: `${file}:${line} (item ${it.item_id})`,
        itemId: it.item_id,
        entries: Object.freeze(it.entries),
        osTypes: Object.freeze(it.os_types),
        expiresAt: it.expire_time === undefined ? undefined : Date.parse(it.expire_time),
      }));
      continue;
    }
    const parsed = exceptionListSchema.safeParse(value);
    if (!parsed.success) {
      errors.push(new RuleLoadError(file, `exception list ${String(value.list_id)}: ${firstIssue(parsed.error.issues, 'line')}`, { line, column: 1 }));
      continue;
    }
    const l = parsed.data;
    containers.set(key(l.namespace_type, l.list_id), Object.freeze({ id: l.id ?? l.list_id, list_id: l.list_id, type: l.type, namespace_type: l.namespace_type }));
  }
  const lists: ExceptionList[] = [];
  for (const [k, ref] of containers) lists.push(Object.freeze({ ref, file, items: Object.freeze(items.get(k) ?? []) }));
  for (const [k, its] of items) {
    if (containers.has(k)) continue;
    const [ns, ...rest] = k.split(':');
    errors.push(new RuleLoadError(file, `exception items of list ${rest.join(':')} (${ns}) without the list itself in the export: ${its.map((i) => i.source).join(', ')}`));
  }
  return { lists, errors };
}
