/**
 * `_source` includes applied in memory, as Elasticsearch applies them to hits: a path keeps
 * that field (or object, with everything under it); objects are descended, arrays keep their
 * shape, dotted keys are paths too. `lookout test-rule` uses it so that offline alerts carry
 * exactly what an execution against the cluster would have fetched.
 */
export function filterSource(source: Readonly<Record<string, unknown>>, includes: readonly string[]): Record<string, unknown> {
  return filterObject(source, '', includes) ?? {};
}

function covered(path: string, includes: readonly string[]): boolean {
  return includes.some((inc) => path === inc || path.startsWith(`${inc}.`));
}

function leadsTo(path: string, includes: readonly string[]): boolean {
  return includes.some((inc) => inc.startsWith(`${path}.`));
}

function filterValue(value: unknown, path: string, includes: readonly string[]): unknown {
  if (covered(path, includes)) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => filterValue(v, path, includes)).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value && typeof value === 'object' && leadsTo(path, includes)) return filterObject(value as Record<string, unknown>, path, includes);
  return undefined;
}

function filterObject(obj: Readonly<Record<string, unknown>>, prefix: string, includes: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const kept = filterValue(value, path, includes);
    if (kept !== undefined) {
      out[key] = kept;
      any = true;
    }
  }
  return any ? out : undefined;
}
