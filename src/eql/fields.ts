/**
 * Field access on event documents. ECS documents nest objects (`process.parent.name`) but may
 * also carry dotted keys (`"process.pid": 4`), and any level may be an array
 * (`event.category: ["network"]`). A getter returns every primitive value found at the path,
 * flattened; an empty array means the field is missing or null.
 */

export type Primitive = string | number | boolean;
export type Getter = (doc: unknown) => Primitive[];

export function compileGetter(path: string): Getter {
  const parts = path.split('.');
  return (doc) => {
    const out: Primitive[] = [];
    collect(doc, parts, 0, out);
    return out;
  };
}

function pushLeaves(node: unknown, out: Primitive[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) pushLeaves(item, out);
    return;
  }
  const t = typeof node;
  if (t === 'string' || t === 'number' || t === 'boolean') out.push(node as Primitive);
}

function collect(node: unknown, parts: readonly string[], i: number, out: Primitive[]): void {
  if (node === null || node === undefined) return;
  if (i === parts.length) {
    pushLeaves(node, out);
    return;
  }
  if (Array.isArray(node)) {
    for (const item of node) collect(item, parts, i, out);
    return;
  }
  if (typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const direct = obj[parts[i]];
  if (direct !== undefined) collect(direct, parts, i + 1, out);
  // Dotted keys: "process.pid" at this level stands for process -> pid.
  if (i + 1 < parts.length) {
    let key = parts[i];
    for (let j = i + 1; j < parts.length; j++) {
      key += '.' + parts[j];
      const v = obj[key];
      if (v !== undefined) collect(v, parts, j + 1, out);
    }
  }
}

/** Reads the first value at a path, for alert summaries. */
export function firstValue(doc: unknown, path: string): Primitive | undefined {
  return compileGetter(path)(doc)[0];
}
