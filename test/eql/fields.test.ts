/**
 * Field access: the generated fast path (`compileSome`) must see exactly the values the getter
 * sees, for documents of every shape (nested, dotted keys, arrays, nulls, mixed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileGetter, compileSome, type Primitive } from '../../src/eql/fields.js';

const keys = fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c', 'a.b.c');
const leaf = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(keys, tie('value'), { maxKeys: 4 }),
})).object;

function collected(path: string, d: unknown): Primitive[] {
  const seen: Primitive[] = [];
  compileSome(path)(d, (v) => {
    seen.push(v);
    return false;
  });
  return seen;
}

describe('field access', () => {
  test('compileSome visits the same values as the getter, in the same order, for any document', () => {
    fc.assert(fc.property(doc, fc.constantFrom('a', 'a.b', 'a.b.c', 'b.c'), (d, path) => {
      assert.deepEqual(collected(path, d), [...compileGetter(path)(d)]);
    }), { numRuns: 2000, seed: 11 });
  });

  test('compileSome stops at the first value that passes', () => {
    let calls = 0;
    const found = compileSome('event.category')({ event: { category: ['network', 'process', 'file'] } }, (v) => {
      calls++;
      return v === 'process';
    });
    assert.equal(found, true);
    assert.equal(calls, 2);
  });

  test('a field name is data, never code: quotes, brackets and backslashes in a path', () => {
    const path = 'x"]; throw new Error("injected"); //.y\\';
    const d = { 'x"]; throw new Error("injected"); //': { 'y\\': 'v' } };
    assert.deepEqual(collected(path, d), ['v']);
    assert.deepEqual(collected(path, {}), []);
  });

  test('missing, null and non-object steps give no value', () => {
    for (const d of [{}, { a: null }, { a: 'text' }, { a: { b: null } }, { a: [] }, null, 'x']) {
      assert.deepEqual(collected('a.b', d), [], JSON.stringify(d));
    }
  });
});

/**
 * The getter as it was before a missing step stopped taking the slow path (kept as the oracle):
 * the fast path over plain nested objects, else every value under nested and dotted keys.
 */
function previousGetter(path: string): (doc: unknown) => Primitive[] {
  const parts = path.split('.');
  const leaves = (node: unknown, out: Primitive[]): void => {
    if (node === null || node === undefined) return;
    if (Array.isArray(node)) for (const item of node) leaves(item, out);
    else if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') out.push(node);
  };
  const collect = (node: unknown, i: number, out: Primitive[]): void => {
    if (node === null || node === undefined) return;
    if (i === parts.length) return leaves(node, out);
    if (Array.isArray(node)) {
      for (const item of node) collect(item, i, out);
      return;
    }
    if (typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (obj[parts[i]] !== undefined) collect(obj[parts[i]], i + 1, out);
    for (let j = i + 1; j < parts.length; j++) {
      const v = obj[parts.slice(i, j + 1).join('.')];
      if (v !== undefined) collect(v, j + 1, out);
    }
  };
  const slow = (doc: unknown) => {
    const out: Primitive[] = [];
    collect(doc, 0, out);
    return out;
  };
  return (doc) => {
    let node = doc;
    for (let i = 0; i < parts.length; i++) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return slow(doc);
      const next = (node as Record<string, unknown>)[parts[i]];
      if (next === undefined) return parts.length > 1 ? slow(doc) : [];
      node = next;
    }
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return [node];
    if (node === null) return [];
    if (Array.isArray(node) && node.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) return node as Primitive[];
    return slow(doc);
  };
}

describe('field access: a missing step', () => {
  test('the getter and compileSome find what the slow path found, for any document and path (dotted keys at every level)', () => {
    const paths = ['a', 'a.b', 'a.b.c', 'b.c', 'a.c', 'c.b.a', 'a.b.c.a', 'b'];
    fc.assert(fc.property(doc, fc.constantFrom(...paths), (d, path) => {
      const expected = previousGetter(path)(d);
      assert.deepEqual([...compileGetter(path)(d)], expected);
      assert.deepEqual(collected(path, d), expected);
    }), { numRuns: 5000 });
  });

  test('a field missing from nested objects is found under a dotted key at any level on the way', () => {
    const cases: [unknown, Primitive[]][] = [
      [{ a: { b: {} } }, []], [{ a: { 'b.c': 2 } }, [2]], [{ 'a.b': { c: 3 } }, [3]], [{ 'a.b.c': 4 }, [4]],
      [{ a: { b: {} }, 'a.b.c': 5 }, [5]], [{ a: { b: { x: 1 } }, 'a.b': { c: 6 } }, [6]], [{ a: {} }, []],
    ];
    for (const [d, expected] of cases) {
      assert.deepEqual([...compileGetter('a.b.c')(d)], expected, JSON.stringify(d));
      assert.deepEqual(collected('a.b.c', d), expected, JSON.stringify(d));
    }
  });
});

describe('field access: nested and dotted forms together', () => {
  test('a value under a dotted key is found even when the nested parent exists without it', () => {
    const d = { process: { name: 'cmd.exe' }, 'process.pid': 4 };
    assert.deepEqual([...compileGetter('process.pid')(d)], [4]);
    assert.deepEqual(collected('process.pid', d), [4]);
    assert.deepEqual([...compileGetter('process.name')(d)], ['cmd.exe']);
  });
});
