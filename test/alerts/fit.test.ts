/** Which copied source fields fit the alerts template (table), and what is kept of the others. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fitToTemplate, takeCopiedField } from '../../src/alerts/fit.js';

describe('fitting copied fields to the alerts template', () => {
  const cases: { name: string; doc: Record<string, unknown>; kept: Record<string, unknown>; moved: Record<string, unknown> }[] = [
    { name: 'all fit', doc: { process: { name: 'cmd.exe', pid: 4, args: ['a', 'b'] }, source: { ip: '10.0.0.1', port: '5985' } }, kept: { process: { name: 'cmd.exe', pid: 4, args: ['a', 'b'] }, source: { ip: '10.0.0.1', port: '5985' } }, moved: {} },
    { name: 'object where a keyword is mapped', doc: { process: { name: { first: 'x' }, pid: 4 } }, kept: { process: { pid: 4 } }, moved: { 'process.name': { first: 'x' } } },
    { name: 'word where an IP is mapped', doc: { source: { ip: 'localhost', port: 1 } }, kept: { source: { port: 1 } }, moved: { 'source.ip': 'localhost' } },
    { name: 'IPv6 with a zone fits', doc: { source: { ip: 'fe80::1%eth0' } }, kept: { source: { ip: 'fe80::1%eth0' } }, moved: {} },
    { name: 'word where a number is mapped', doc: { destination: { port: 'http' } }, kept: { destination: {} }, moved: { 'destination.port': 'http' } },
    { name: 'value where an object is mapped', doc: { process: { parent: 'explorer.exe' } }, kept: { process: {} }, moved: { 'process.parent': 'explorer.exe' } },
    { name: 'a whole root of the wrong shape', doc: { host: 'h1' }, kept: {}, moved: { host: 'h1' } },
    { name: 'dotted keys are the nested field', doc: { host: { 'os.type': { x: 1 }, name: 'h' } }, kept: { host: { name: 'h' } }, moved: { 'host.os.type': { x: 1 } } },
    { name: 'unmapped fields are left to dynamic mapping', doc: { process: { custom: { deep: [1, 2] } } }, kept: { process: { custom: { deep: [1, 2] } } }, moved: {} },
    { name: 'an array with one bad value moves the field', doc: { user: { name: ['a', { b: 1 }] } }, kept: { user: {} }, moved: { 'user.name': ['a', { b: 1 }] } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const before = structuredClone(c.doc);
      const doc = { ...c.doc, 'kibana.alert.uuid': 'x', lookout: { summary: {} } };
      const fitted = fitToTemplate(doc);
      for (const root of ['host', 'source', 'destination', 'user', 'process']) assert.deepEqual(fitted[root], c.kept[root], root);
      const lookout = fitted.lookout as { unmapped_source?: string; unmapped_fields?: string[]; summary: unknown };
      if (Object.keys(c.moved).length === 0) {
        assert.equal(fitted, doc, 'untouched');
      } else {
        assert.deepEqual(JSON.parse(lookout.unmapped_source!), c.moved);
        assert.deepEqual(lookout.unmapped_fields, Object.keys(c.moved));
        assert.deepEqual(lookout.summary, {}, 'the rest of lookout kept');
      }
      assert.deepEqual(c.doc, before, 'the event\'s own objects are not changed');
    });
  }

  test('a field named by a 400 is taken only from the copied roots', () => {
    const doc: Record<string, unknown> = { process: { 'parent.name': 'x', pid: 1 }, 'kibana.alert.depth': 1 };
    assert.deepEqual(takeCopiedField(doc, 'process.parent.name'), { value: 'x' });
    assert.deepEqual(doc.process, { pid: 1 });
    assert.equal(takeCopiedField(doc, 'kibana.alert.depth'), undefined);
    assert.equal(takeCopiedField(doc, 'process.missing'), undefined);
  });
});
