import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWildcard } from '../../src/eql/wildcard.js';

const cases: [string, string, boolean][] = [
  ['abc', 'abc', true],
  ['abc', 'abcd', false],
  ['a*', 'abc', true],
  ['*c', 'abc', true],
  ['*b*', 'abc', true],
  ['a*c', 'abbbc', true],
  ['a*c', 'ac', true],
  ['a*c', 'ab', false],
  ['a?c', 'abc', true],
  ['a?c', 'ac', false],
  ['*a*a*b', 'aab', true],
  ['*a*a*b', 'ab', false],
  ['?:\\w*.exe', 'c:\\windows.exe', true],
  ['a*b*c', 'acb', false],
  ['*', '', true],
  ['?', '', false],
  ['a*a', 'a', false],
  ['x*?y', 'xy', false],
  ['x*?y', 'xzy', true],
];

describe('wildcard matching', () => {
  for (const [pattern, text, expected] of cases) {
    test(`${pattern} ~ ${JSON.stringify(text)} is ${expected}`, () => {
      assert.equal(compileWildcard(pattern)(text), expected);
    });
  }

  test('adversarial pattern on a 100 kB string completes (no backtracking blow-up)', () => {
    // Correctness, not time: the answer must be right; the benchmark reports the speed.
    const text = 'a'.repeat(100_000);
    assert.equal(compileWildcard('*a*a*a*a*b')(text), false);
    assert.equal(compileWildcard('*a*a*a*a*a')(text), true);
  });
});
