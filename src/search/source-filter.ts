/**
 * `_source` includes applied in memory, as Elasticsearch applies them to hits: a path keeps
 * that field (or object, with everything under it); objects are descended, arrays keep their
 * shape, dotted keys are paths too. `lookout test-rule` uses it so that offline alerts carry
 * exactly what an execution against the cluster would have fetched.
 *
 * The includes are compiled once into a tree of path segments (kept per includes array), so
 * each key costs a map lookup per segment instead of a string built and compared with every
 * include.
 */
interface Node {
  /** An include ends here: everything below is kept. */
  all: boolean;
  readonly children: Map<string, Node>;
}

const compiled = new WeakMap<readonly string[], Node>();

function compile(includes: readonly string[]): Node {
  let root = compiled.get(includes);
  if (root) return root;
  root = { all: false, children: new Map() };
  for (const inc of includes) {
    let node = root;
    // A wildcard include (`process.*`, `*` for KQL's field-less terms) keeps the whole object
    // before its first wildcard segment: a superset of what the server returns for it.
    const star = inc.indexOf('*');
    const segs = star < 0 ? inc.split('.') : inc.slice(0, star).split('.').slice(0, -1);
    if (segs.length === 0) root.all = true;
    for (const seg of segs) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { all: false, children: new Map() }));
      node = next;
    }
    node.all = true;
  }
  compiled.set(includes, root);
  return root;
}

export function filterSource(source: Readonly<Record<string, unknown>>, includes: readonly string[]): Record<string, unknown> {
  const root = compile(includes);
  if (root.all) return { ...source };
  return filterObject(source, root) ?? {};
}

/** The node a (possibly dotted) key leads to from `node`, or undefined; `all` nodes end the walk. */
function step(node: Node, key: string): Node | undefined {
  if (key.indexOf('.') < 0) return node.children.get(key);
  let at: Node | undefined = node;
  for (const seg of key.split('.')) {
    at = at.children.get(seg);
    if (!at || at.all) return at;
  }
  return at;
}

function filterValue(value: unknown, node: Node): unknown {
  if (node.all) return value;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const v of value) {
      const kept = filterValue(v, node);
      if (kept !== undefined) items.push(kept);
    }
    return items.length > 0 ? items : undefined;
  }
  if (value && typeof value === 'object' && node.children.size > 0) return filterObject(value as Record<string, unknown>, node);
  return undefined;
}

function filterObject(obj: Readonly<Record<string, unknown>>, node: Node): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const next = step(node, key);
    if (!next) continue;
    const kept = filterValue(obj[key], next);
    if (kept !== undefined) (out ??= {})[key] = kept;
  }
  return out;
}
