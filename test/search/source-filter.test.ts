import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { filterSource } from '../../src/search/source-filter.js';

test('_source includes applied in memory, as Elasticsearch does', () => {
  const src = { '@timestamp': 't', event: { category: ['process'], type: 'start' }, process: { name: 'a', parent: { name: 'b', pid: 1 }, args: ['x'] }, 'host.id': 'h', host: { name: 'n' }, winlog: { event_data: { A: 1, B: 2 } }, other: 1 };
  assert.deepEqual(filterSource(src, ['@timestamp', 'event', 'process.parent.name', 'host.id', 'winlog.event_data.B']), {
    '@timestamp': 't', event: { category: ['process'], type: 'start' }, process: { parent: { name: 'b' } }, 'host.id': 'h', winlog: { event_data: { B: 2 } },
  });
  assert.deepEqual(filterSource({ a: [{ b: 1, c: 2 }, { c: 3 }] }, ['a.b']), { a: [{ b: 1 }] });
  assert.deepEqual(filterSource({ a: 1 }, ['b']), {});
});

test('a wildcard include keeps the whole object before its first wildcard (a superset of what the server keeps)', () => {
  const src = { process: { name: 'a', pid: 1 }, user: { name: 'u' }, message: 'm' };
  assert.deepEqual(filterSource(src, ['process.*']), { process: { name: 'a', pid: 1 } });
  assert.deepEqual(filterSource(src, ['process.n*e', 'message']), { process: { name: 'a', pid: 1 }, message: 'm' });
  assert.deepEqual(filterSource(src, ['user.name', '*']), src);
});

/** The straightforward reading of the rules (the implementation before the include tree), as a reference. */
function reference(source: Readonly<Record<string, unknown>>, includes: readonly string[]): Record<string, unknown> {
  const covered = (path: string) => includes.some((inc) => path === inc || path.startsWith(`${inc}.`));
  const leadsTo = (path: string) => includes.some((inc) => inc.startsWith(`${path}.`));
  const value = (v: unknown, path: string): unknown => {
    if (covered(path)) return v;
    if (Array.isArray(v)) {
      const items = v.map((x) => value(x, path)).filter((x) => x !== undefined);
      return items.length > 0 ? items : undefined;
    }
    if (v && typeof v === 'object' && leadsTo(path)) return object(v as Record<string, unknown>, path);
    return undefined;
  };
  const object = (o: Record<string, unknown>, prefix: string): Record<string, unknown> | undefined => {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const [k, v] of Object.entries(o)) {
      const kept = value(v, prefix ? `${prefix}.${k}` : k);
      if (kept !== undefined) {
        out[k] = kept;
        any = true;
      }
    }
    return any ? out : undefined;
  };
  return object(source as Record<string, unknown>, '') ?? {};
}

test('the include tree keeps exactly what the plain reading of the rules keeps (property)', () => {
  const seg = fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c');
  const doc = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), tie('object')),
    object: fc.dictionary(seg, tie('value'), { maxKeys: 4 }),
  })).object as fc.Arbitrary<Record<string, unknown>>;
  const includes = fc.array(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((s) => s.join('.')), { maxLength: 4 });
  fc.assert(fc.property(doc, includes, (d, inc) => {
    assert.deepEqual(filterSource(d, inc), reference(d, inc));
  }), { numRuns: 3000 });
});
