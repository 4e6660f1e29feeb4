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

describe('field access: nested and dotted forms together', () => {
  test('a value under a dotted key is found even when the nested parent exists without it', () => {
    const d = { process: { name: 'cmd.exe' }, 'process.pid': 4 };
    assert.deepEqual([...compileGetter('process.pid')(d)], [4]);
    assert.deepEqual(collected('process.pid', d), [4]);
    assert.deepEqual([...compileGetter('process.name')(d)], ['cmd.exe']);
  });
});
