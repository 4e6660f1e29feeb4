/**
 * Fuzzing (fast-check) the KQL parser, translation and evaluator: any text gives a tree or a
 * KqlSyntaxError with its position, never another error; a tree always translates and
 * evaluates on documents of any shape, with or without field types.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KqlSyntaxError } from '../../src/errors.js';
import { compileKql, type CompiledKql } from '../../src/kql/compile.js';
import type { KqlNode } from '../../src/kql/ast.js';
import type { FieldTypes } from '../../src/search/field-caps.js';

const RUNS = Number(process.env.LOOKOUT_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.LOOKOUT_FUZZ_SEED ?? 7);

const tokens = fc.constantFrom(
  'a', 'b.c', 'process.*', '*', ':', ' ', '  ', '\n', '(', ')', '{', '}', '"', '"x y"', 'and', 'or', 'not', 'AND', 'Or', 'NOT',
  '<', '<=', '>', '>=', '\\', '\\:', '\\*', '\\or', '\\u0041', '\\t', '10.0.0.0/8', 'now-1d/d', '2024-05||+1M', 'true', 'null', '?', '-1.5', 'é',
);

const types: FieldTypes = new Map(
  Object.entries({ a: ['keyword'], 'b.c': ['long'], 'process.name': ['keyword'], 'process.pid': ['long'], t: ['text'], d: ['date'], i: ['ip'], n: ['nested'], 'n.a': ['keyword'] })
    .map(([k, v]) => [k, new Set(v)]),
);

const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c', 'b.c', 'process', 'n', 't', 'd', 'i'), tie('v'), { maxKeys: 4 })),
})).v;

function spansInside(node: KqlNode, length: number): void {
  assert.ok(node.start >= 0 && node.start <= node.end && node.end <= length, `span ${node.start}-${node.end} of ${length}`);
  if (node.kind === 'and' || node.kind === 'or') node.children.forEach((c) => spansInside(c, length));
  if (node.kind === 'not') spansInside(node.child, length);
  if (node.kind === 'nested') spansInside(node.query, length);
}

describe('fuzzing KQL', () => {
  test('any text: a tree whose spans lie in the text, or a KqlSyntaxError with a position', () => {
    let parsed = 0;
    fc.assert(fc.property(fc.oneof(fc.array(tokens, { maxLength: 25 }).map((t) => t.join('')), fc.string({ maxLength: 120 })), (source) => {
      let compiled: CompiledKql;
      try {
        compiled = compileKql(source);
      } catch (err) {
        assert.ok(err instanceof KqlSyntaxError, `${JSON.stringify(source)} threw ${String(err)}`);
        assert.match(err.message, /\(\d+:\d+\)$/);
        assert.ok(err.offset >= 0 && err.offset <= source.length);
        return;
      }
      parsed++;
      spansInside(compiled.ast, source.length);
      assert.equal(typeof JSON.stringify(compiled.toDsl(types)), 'string');
    }), { numRuns: RUNS * 5, seed: SEED });
    assert.ok(parsed > RUNS / 2, `many inputs parse (${parsed})`);
  });

  test('a parsed query evaluates any document, with and without types', () => {
    const source = fc.array(tokens, { maxLength: 20 }).map((t) => t.join('')).filter((s) => {
      try {
        compileKql(s);
        return true;
      } catch {
        return false;
      }
    });
    fc.assert(fc.property(source, json, (text, doc) => {
      const compiled = compileKql(text);
      assert.equal(typeof compiled.matcher({ types }).matches(doc), 'boolean');
      assert.equal(typeof compiled.matcher().matches(doc), 'boolean');
    }), { numRuns: RUNS, seed: SEED });
  });
});
