/**
 * Random EQL conditions and events for property tests of the pushdown and of what is derived
 * from it: case variants, arrays, missing fields, numbers as strings, escapes, non-ASCII.
 */
import fc from 'fast-check';
import { rng } from '../../src/demo/generate.js';

const WORDS = ['foo', 'Foo', 'FOO', 'bar', 'Bar', 'foobar', 'fo', 'x*y', 'a?c', 'abc', 'Straße', 'STRASSE', 'C:\\Windows\\cmd.exe', 'c:\\windows\\CMD.EXE', ''];
const NUMS = [0, 1, 4, 5, 10, -3, 5985];

export function makeEvents(n: number): Record<string, unknown>[] {
  const r = rng(99);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const e: Record<string, unknown> = { '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), id: i, event: { category: [pick(['process', 'network'])] } };
    const roll = r();
    if (roll < 0.7) e.s = pick(WORDS);
    else if (roll < 0.85) e.s = [pick(WORDS), pick(WORDS)];
    if (r() < 0.8) e.n = r() < 0.2 ? String(pick(NUMS)) : pick(NUMS);
    if (r() < 0.7) e.k = pick(WORDS);
    if (r() < 0.5) e.nested = { t: pick(WORDS) };
    return e;
  });
}

const str = fc.constantFrom(...WORDS.map((w) => JSON.stringify(w)));
const pattern = fc.constantFrom('"foo*"', '"*bar"', '"f?o"', '"*O*"', '"c:\\\\windows\\\\*.exe"', '"*"', '"STRA*"', '"x\\\\*y"', '"a?c"', '"?"');
const num = fc.constantFrom(...NUMS.map(String));
const strField = fc.constantFrom('s', 'k', 'nested.t', 'missing');

const leaf: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(strField, fc.constantFrom('==', '!='), str).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(strField, str).map(([f, v]) => `${f} : ${v}`),
  fc.tuple(strField, pattern).map(([f, v]) => `${f} : ${v}`),
  fc.tuple(strField, fc.constantFrom('like', 'like~'), pattern).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(strField, fc.constantFrom('in', 'in~', 'not in'), fc.array(str, { minLength: 1, maxLength: 3 })).map(([f, op, vs]) => `${f} ${op} (${vs.join(', ')})`),
  fc.tuple(fc.constantFrom('==', '!=', '<', '<=', '>', '>='), num).map(([op, v]) => `n ${op} ${v}`),
  fc.tuple(fc.constantFrom('in', 'not in'), fc.array(num, { minLength: 1, maxLength: 3 })).map(([op, vs]) => `n ${op} (${vs.join(', ')})`),
  fc.constantFrom('s == null', 's != null', 'n == null', 'startsWith~(s, "fo")', 'length(s) > 2', 's regex~ "fo+"', 'true', 'false'),
);

export const condition: fc.Arbitrary<string> = fc.letrec((tie) => ({
  cond: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('cond'), tie('cond')).map(([a, b]) => `(${a} and ${b})`),
    fc.tuple(tie('cond'), tie('cond')).map(([a, b]) => `(${a} or ${b})`),
    tie('cond').map((a) => `not (${a})`),
  ),
})).cond as fc.Arbitrary<string>;

