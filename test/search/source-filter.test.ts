import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterSource } from '../../src/search/source-filter.js';

test('_source includes applied in memory, as Elasticsearch does', () => {
  const src = { '@timestamp': 't', event: { category: ['process'], type: 'start' }, process: { name: 'a', parent: { name: 'b', pid: 1 }, args: ['x'] }, 'host.id': 'h', host: { name: 'n' }, winlog: { event_data: { A: 1, B: 2 } }, other: 1 };
  assert.deepEqual(filterSource(src, ['@timestamp', 'event', 'process.parent.name', 'host.id', 'winlog.event_data.B']), {
    '@timestamp': 't', event: { category: ['process'], type: 'start' }, process: { parent: { name: 'b' } }, 'host.id': 'h', winlog: { event_data: { B: 2 } },
  });
  assert.deepEqual(filterSource({ a: [{ b: 1, c: 2 }, { c: 3 }] }, ['a.b']), { a: [{ b: 1 }] });
  assert.deepEqual(filterSource({ a: 1 }, ['b']), {});
});
