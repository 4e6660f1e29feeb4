/**
 * The lines of an NDJSON file (Kibana's rule export), parsed one by one so that one bad line
 * costs one entry: each non-blank line with its 1-based number and either its value or the
 * JSON parser's complaint. The rule loader and the exception reader both read the export.
 */
export type NdjsonLine =
  | { readonly line: number; readonly value: unknown }
  | { readonly line: number; readonly notJson: string };

export function* ndjsonLines(text: string): Generator<NdjsonLine> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      yield { line: i + 1, value: JSON.parse(lines[i]) };
    } catch (err) {
      yield { line: i + 1, notJson: (err as Error).message };
    }
  }
}

/** A zod validation's first problem, with its path (`what` when it has none) and how many more. */
export function firstIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[], what: string): string {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem(s))` : '';
  return `${first.path.map(String).join('.') || what}: ${first.message}${more}`;
}
