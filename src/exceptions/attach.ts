/**
 * Gives each loaded rule its exceptions. A rule's `exceptions_list` references are looked up
 * (by namespace_type and list_id) among the exception lists of its own Kibana export, then
 * among the Lookout exceptions files; the exceptions files also name rules in `rule_ids`.
 * Value lists (`type: list` entries) are read from `<list.id>.txt` (or `<list.id>` when the id
 * already ends in a file name, as Kibana names lists after the imported file), one value a line
 * (the file Kibana's value list export writes), in the `value_lists` folder beside the file holding the
 * entry, or in the folder given. A reference to a list that is not there, or a value list file
 * that is missing, is a load error naming the rule, the list and the file, and the rule is not
 * run: a rule never runs without the exceptions it names. One exception: Kibana's built-in
 * Endpoint exception list (`endpoint_list`, agnostic), which Kibana creates empty and prebuilt
 * rules name; when nobody provides it, it is applied as empty and the rule says so
 * (`CompiledExceptions.assumedEmpty`: shown by `validate` and in the execution log).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, RuleLoadError } from '../errors.js';
import type { Rule } from '../rules/model.js';
import { compileExceptions } from './compile.js';
import type { Entry, ExceptionItem, ExceptionList, ExceptionListRef } from './model.js';
import type { NativeExceptions } from './native.js';

export interface ExceptionSources {
  /** Exception lists of each Kibana export, by the export's file. */
  readonly kibana: ReadonlyMap<string, readonly ExceptionList[]>;
  readonly native: readonly NativeExceptions[];
  /** Folder of value list files; default: `value_lists` beside the file holding the entry. */
  readonly valueListsDir?: string;
  /** Rule ids loaded from anywhere; a `rule_ids` entry naming none of them is an error. Unset: not checked. */
  readonly knownRuleIds?: ReadonlySet<string>;
}

/** Kibana's built-in Endpoint exception list: created empty by Kibana, named by prebuilt rules. */
export const ENDPOINT_LIST_ID = 'endpoint_list';

export interface Attached {
  readonly rules: readonly Rule[];
  readonly errors: readonly RuleLoadError[];
}

function listIds(entries: readonly Entry[]): string[] {
  return entries.flatMap((e) => (e.type === 'list' ? [e.list.id] : []));
}

/** Reads a value list file: one value a line, blank lines skipped, ends trimmed. */
export async function readValueList(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

export async function attachExceptions(rules: readonly Rule[], sources: ExceptionSources): Promise<Attached> {
  const errors: RuleLoadError[] = [];
  const cache = new Map<string, Promise<string[]>>();
  const valueList = (path: string) => {
    if (!cache.has(path)) cache.set(path, readValueList(path));
    return cache.get(path)!;
  };
  if (sources.knownRuleIds) {
    for (const n of sources.native) {
      for (const id of n.ruleIds) {
        if (!sources.knownRuleIds.has(id)) errors.push(new RuleLoadError(n.list.file, `rule_ids: no rule file under the rules folder has rule_id ${id}`));
      }
    }
  }
  const byList = new Map<string, string>();
  for (const n of sources.native) {
    const k = `${n.list.ref.namespace_type}:${n.list.ref.list_id}`;
    const other = byList.get(k);
    if (other) errors.push(new RuleLoadError(n.list.file, `list_id ${n.list.ref.list_id} is already the list of ${other}; give each exceptions file its own list_id`));
    else byList.set(k, n.list.file);
  }
  const out: Rule[] = [];
  for (const rule of rules) {
    const refs = rule.exceptionsList ?? [];
    const named = sources.native.filter((n) => n.ruleIds.includes(rule.ruleId)).map((n) => n.list);
    if (refs.length === 0 && named.length === 0) {
      out.push(rule);
      continue;
    }
    const lists: ExceptionList[] = [];
    const problems: string[] = [];
    const assumedEmpty: string[] = [];
    for (const ref of refs) {
      const same = (l: ExceptionList) => l.ref.list_id === ref.list_id && l.ref.namespace_type === ref.namespace_type;
      const found = (sources.kibana.get(rule.file) ?? []).find(same) ?? sources.native.map((n) => n.list).find(same);
      if (found) lists.push(found);
      else if (ref.list_id === ENDPOINT_LIST_ID && ref.namespace_type === 'agnostic') {
        lists.push({ ref, file: rule.file, items: [] });
        assumedEmpty.push(ref.list_id);
      } else problems.push(`exceptions_list names list ${ref.list_id} (${ref.namespace_type}, ${ref.type}), which is neither in ${rule.file} nor in any *.exceptions.yml`);
    }
    for (const l of named) if (!lists.includes(l)) lists.push(l);
    const values = new Map<string, readonly string[]>();
    for (const l of lists) {
      for (const item of l.items) {
        for (const id of new Set(listIds(item.entries.flatMap((e) => (e.type === 'nested' ? [] : [e]))))) {
          if (values.has(id)) continue;
          if (/[/\\]|^\.\.?$/.test(id)) {
            problems.push(`${item.source}: value list id ${JSON.stringify(id)} cannot name a file`);
            continue;
          }
          const dir = sources.valueListsDir ?? join(dirname(l.file), 'value_lists');
          // Kibana names a list after the file it was imported from (`hosts.txt`): that name as it is, or with .txt added.
          const paths = [join(dir, `${id}.txt`), join(dir, id)];
          let read: string[] | undefined;
          let failure: unknown;
          for (const path of paths) {
            try {
              read = await valueList(path);
              break;
            } catch (err) {
              failure ??= err;
            }
          }
          if (read) values.set(id, read);
          else problems.push(`${item.source}: value list ${id} of exception list ${l.ref.list_id}: cannot read ${paths[0]} (${errorMessage(failure)}); export the list from Kibana (Rules > Manage value lists > Export) into that file, one value a line`);
        }
      }
    }
    if (problems.length > 0) {
      for (const p of problems) errors.push(new RuleLoadError(rule.file, `rule ${rule.ruleId} (${rule.name}) not loaded: ${p}`));
      continue;
    }
    const items: ExceptionItem[] = lists.flatMap((l) => [...l.items]);
    const refsOut: ExceptionListRef[] = lists.map((l) => refs.find((r) => r.list_id === l.ref.list_id && r.namespace_type === l.ref.namespace_type) ?? l.ref);
    out.push(Object.freeze({ ...rule, exceptions: compileExceptions(refsOut, items, values, assumedEmpty) }));
  }
  return { rules: out, errors };
}
