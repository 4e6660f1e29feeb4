/**
 * Field access on event documents. ECS documents nest objects (`process.parent.name`) but may
 * also carry dotted keys (`"process.pid": 4`), and any level may be an array
 * (`event.category: ["network"]`). A getter returns every primitive value found at the path,
 * flattened; an empty array means the field is missing or null.
 */

export type Primitive = string | number | boolean;
/** The values at a path. Read-only: it may be the document's own array. */
export type Getter = (doc: unknown) => readonly Primitive[];

const NONE: readonly Primitive[] = Object.freeze([]);

export function compileGetter(path: string): Getter {
  const parts = path.split('.');
  // dotted[i][j]: the key `parts[i] + '.' + ... + parts[j]`, built once rather than per lookup.
  const dotted = parts.map((_, i) => parts.map((__, j) => (j > i ? parts.slice(i, j + 1).join('.') : '')));
  const slow = (doc: unknown): readonly Primitive[] => {
    const out: Primitive[] = [];
    collect(doc, parts, dotted, 0, out);
    return out.length === 0 ? NONE : out;
  };
  // Fast path: plain nested objects down to a primitive (the usual ECS document).
  return (doc) => {
    let node = doc;
    for (let i = 0; i < parts.length; i++) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return slow(doc);
      const next = (node as Record<string, unknown>)[parts[i]];
      // Not there as nested objects; may still be there under a dotted key (`"a.b": 1`), which
      // the slow path collects; without one on the way, the field is missing.
      if (next === undefined) return parts.length > 1 && dottedAlong(doc, parts, dotted, i) ? slow(doc) : NONE;
      node = next;
    }
    const t = typeof node;
    if (t === 'string' || t === 'number' || t === 'boolean') return [node as Primitive];
    if (node === null) return NONE;
    // An array of primitives (`event.category: ["network"]`) is returned as it is, not copied.
    if (Array.isArray(node) && node.every(isPrimitive)) return node as Primitive[];
    return slow(doc);
  };
}

/**
 * Whether some value at the path passes `test`: the getter's values, without building an array
 * for the usual shapes (a plain value, an array of plain values under nested objects). The hot
 * path of every comparison.
 */
export type Some = (doc: unknown, test: (v: Primitive) => boolean) => boolean;

export function compileSome(path: string, get: Getter = compileGetter(path)): Some {
  const slow = (doc: unknown, test: (v: Primitive) => boolean): boolean => {
    for (const v of get(doc)) if (test(v)) return true;
    return false;
  };
  return walker(path.split('.'))(slow, isPrimitive);
}

/**
 * Whether a dotted key (`"a.b"`, `"b.c"`) that continues the path is present on the way down the
 * nested objects to step `upTo` (where the nested lookup found nothing); the steps before it are
 * plain objects (the caller walked them).
 */
function dottedAlong(doc: unknown, parts: readonly string[], dotted: readonly (readonly string[])[], upTo: number): boolean {
  let node = doc as Record<string, unknown>;
  for (let l = 0; l <= upTo; l++) {
    for (let j = l + 1; j < parts.length; j++) if (node[dotted[l][j]] !== undefined) return true;
    node = node[parts[l]] as Record<string, unknown>;
  }
  return false;
}

/**
 * The fast path of `compileSome`, generated for the path so that each step is a property load
 * with a constant name (which V8 caches per site) rather than a lookup by a computed key (1.7 to
 * three times slower over documents of many shapes; measured in bench/). The names enter the
 * code only as JSON string literals, so a path cannot inject code.
 */
function walker(parts: readonly string[]): (slow: Some, plain: (v: unknown) => boolean) => Some {
  // Each step keeps its object (n0, n1, ...): when a step finds nothing, the dotted keys that
  // continue the path on the way (`n0["a.b"]`, `n1["b.c"]`) decide between missing and the slow path.
  const lines = ['const n0 = doc;'];
  for (const [i, part] of parts.entries()) {
    lines.push(`if (n${i} === null || typeof n${i} !== 'object' || Array.isArray(n${i})) return slow(doc, test);`);
    lines.push(`const n${i + 1} = n${i}[${JSON.stringify(part)}];`);
    const dottedKeys: string[] = [];
    for (let l = 0; l <= i; l++) for (let j = l + 1; j < parts.length; j++) dottedKeys.push(`n${l}[${JSON.stringify(parts.slice(l, j + 1).join('.'))}] !== undefined`);
    lines.push(dottedKeys.length > 0 ? `if (n${i + 1} === undefined) return ${dottedKeys.join(' || ')} ? slow(doc, test) : false;` : `if (n${i + 1} === undefined) return false;`);
  }
  lines.push(`const n = n${parts.length};`);
  lines.push(
    'if (n === null) return false;',
    'const t = typeof n;',
    "if (t === 'string' || t === 'number' || t === 'boolean') return test(n);",
    'if (Array.isArray(n) && n.every(plain)) { for (const v of n) if (test(v)) return true; return false; }',
    'return slow(doc, test);',
  );
  return new Function('slow', 'plain', `return function some(doc, test) {\n${lines.join('\n')}\n};`) as never;
}

function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean';
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
