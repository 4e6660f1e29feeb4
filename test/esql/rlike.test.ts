/**
 * RLIKE reads Lucene's regular expression grammar (Elasticsearch builds a Lucene RegExp with all
 * syntax flags), matched against the whole value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRlike, luceneToRe2 } from '../../src/esql/lucene-regex.js';

const cases: [string, string, boolean][] = [
  ['a.c', 'abc', true],
  ['a.c', 'xabcx', false], // whole value
  ['a.c', 'a\nc', true], // . matches a newline
  ['.*(gcloud|print-access-token).*', 'x gcloud y', true],
  ['[a-zA-Z]{4,5}\\.(pw|us|top)', 'abcd.pw', true],
  ['[a-zA-Z]{4,5}\\.(pw|us|top)', 'abc.pw', false],
  ['.*nc.{1,2}[0-9]{1,3}(\\.[0-9]{1,3}){3}.*', 'nc -10.0.0.1', true],
  ['a\\s+b\\d', 'a  b7', true],
  ['"a.b"c', 'a.bc', true],
  ['"a.b"c', 'axbc', false],
  ['@x', 'anything x', true],
  ['a#', 'a', false],
  // a repetition with nothing before it is the character itself
  ['*sh.{1,2}-c*', '*sh -ccc', true],
  ['*sh.{1,2}-c*', 'bash -c', false],
  // & binds tighter than |: `>&|0>&1` is `>` & `|0>` & `1`, the empty language
  ['.*(x|bash\\s+-i\\s+>&|0>&1|y).*', 'bash -i >& /dev/tcp', false],
  ['.*(x|bash\\s+-i\\s+>&|0>&1|y).*', 'a y b', true],
  ['a.&abc', 'abc', false],
  ['a.c&abc', 'abc', true],
  ['a.c&abc', 'axc', false],
  ['^a$', '^a$', true], // anchors are ordinary characters
  ['[^a-c]x', 'dx', true],
  ['[^a-c]x', 'bx', false],
  ['[\\d]+', '123', true],
];

for (const [pattern, text, expected] of cases) {
  test(`${JSON.stringify(text)} RLIKE ${JSON.stringify(pattern)} is ${expected}`, () => {
    assert.equal(compileRlike(pattern)(text), expected, luceneToRe2(pattern));
  });
}
