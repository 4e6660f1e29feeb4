/**
 * What the conformance scripts (eql-, kql-, esql-conformance.ts) share: where the corpus is, its
 * live rule files, and the dotted-path writes that build events from a rule's literals.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const CORPUS = process.env.LOOKOUT_CORPUS ?? join(process.cwd(), '..', 'shared', 'corpus', 'elastic-detection-rules');

/** The TOML rule files under `dir`, `_deprecated/` folders left out. */
export async function ruleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== '_deprecated') out.push(...(await ruleFiles(full)));
    else if (entry.name.endsWith('.toml')) out.push(full);
  }
  return out;
}

/** Sets a dotted path of `doc`, making objects on the way; keeps a value already there unless `force`. */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown, force = false): void {
  const parts = path.split('.');
  let node = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (force || node[last] === undefined) node[last] = value;
}
