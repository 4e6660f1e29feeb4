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
  // dotted[i][j]: the key `parts[i] + '.' + ... + parts[j]`, built once rather than per lookup.
  const dotted = parts.map((_, i) => parts.map((__, j) => (j > i ? parts.slice(i, j + 1).join('.') : '')));
  const slow = (doc: unknown): Primitive[] => {
    const out: Primitive[] = [];
    collect(doc, parts, dotted, 0, out);
    return out;
  };
  // Fast path: plain nested objects down to a primitive (the usual ECS document).
  return (doc) => {
    let node = doc;
    for (let i = 0; i < parts.length; i++) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return slow(doc);
      const next = (node as Record<string, unknown>)[parts[i]];
      if (next === undefined) return i + 1 < parts.length ? slow(doc) : [];
      node = next;
    }
    const t = typeof node;
    if (t === 'string' || t === 'number' || t === 'boolean') return [node as Primitive];
    if (node === null) return [];
    return slow(doc);
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

function collect(node: unknown, parts: readonly string[], dotted: readonly (readonly string[])[], i: number, out: Primitive[]): void {
  if (node === null || node === undefined) return;
  if (i === parts.length) {
    pushLeaves(node, out);
    return;
  }
  if (Array.isArray(node)) {
    for (const item of node) collect(item, parts, dotted, i, out);
    return;
  }
  if (typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const direct = obj[parts[i]];
  if (direct !== undefined) collect(direct, parts, dotted, i + 1, out);
  // Dotted keys: "process.pid" at this level stands for process -> pid.
  for (let j = i + 1; j < parts.length; j++) {
    const v = obj[dotted[i][j]];
    if (v !== undefined) collect(v, parts, dotted, j + 1, out);
  }
}
