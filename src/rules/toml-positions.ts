/**
 * smol-toml reports positions for syntax errors but not for values, so a schema error is placed
 * by finding its key in the text: the `[table]` (or `[[array]]`) header of the path's first
 * segment, then the first line that assigns the key inside it. Good enough to send the author
 * to the right line; the message also names the full path.
 */
export function locateKey(text: string, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  const lines = text.split('\n');
  const keys = path.filter((p): p is string => typeof p === 'string');
  if (keys.length === 0) return undefined;
  let inTable = keys.length === 1;
  let tableLine: number | undefined;
  const table = keys[0];
  const key = keys[keys.length - 1];
  const keyRe = new RegExp(`^(\\s*)(${escapeRe(key)}|"${escapeRe(key)}")\\s*=`);
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(lines[i]);
    if (header) {
      const name = header[1];
      inTable = name === table || name.startsWith(`${table}.`);
      if (inTable && tableLine === undefined) tableLine = i;
      continue;
    }
    if (!inTable) continue;
    const m = keyRe.exec(lines[i]);
    if (m) return { line: i + 1, column: m[1].length + 1 };
  }
  return tableLine === undefined ? undefined : { line: tableLine + 1, column: 1 };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
