/**
 * The paged reader on the real server: events in timestamp order across pages, read-ahead,
 * pages that grow when the cluster is slow on them, the fall back to a scroll where point in time
 * is refused, and points in time closed when a read stops early.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { indexEvents } from '../../src/demo/load.js';
import { newReadStats, readEvents, type ReadRequest } from '../../src/search/reader.js';
import { loadConfig } from '../../src/config/env.js';
import { createClient } from '../../src/search/client.js';
import { esUrl, testEnv, type TestEnv } from '../helpers/es.js';
import { startFaultProxy, type Fault } from '../helpers/fault-proxy.js';

const T0 = Date.UTC(2026, 9, 1);

describe('paged reading', () => {
  let env: TestEnv;
  let base: ReadRequest;
  before(async () => {
    env = await testEnv();
    const index = `${env.prefix}-events-r`;
    await indexEvents(env.client, Array.from({ length: 100 }, (_, i) => ({
      index, id: `r${i}`, source: { '@timestamp': new Date(T0 + (i * 7919) % 100 * 1000).toISOString(), event: { category: ['process'] }, seq: (i * 7919) % 100,
      process: { name: i % 10 === 0 ? 'CMD.exe' : `other${i % 3}.exe` } },
    })));
    base = { indices: [index], timestampField: '@timestamp', from: T0, to: T0 + 100_000, query: null, sourceIncludes: ['@timestamp', 'seq'], pageSize: 5, mode: 'pit' };
  });
  after(async () => env?.close());

  const read = async (req: ReadRequest) => {
    const stats = newReadStats();
    const pages: number[] = [];
    const seqs: unknown[] = [];
    for await (const page of readEvents(env.client, req, stats)) {
      pages.push(page.length);
      for (const e of page) seqs.push(e.source.seq);
    }
    return { stats, pages, seqs };
  };

  test('fixed pages when the cluster is quick: every event once, in order', async () => {
    const r = await read({ ...base, slowPageMs: 60_000 });
    assert.deepEqual(r.seqs, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(r.pages, [...Array(20).fill(5), 0]);
  });

  test('pages double while the cluster is slow on them (here: always), up to 10,000; same events, same order', async () => {
    const r = await read({ ...base, slowPageMs: 0 });
    assert.deepEqual(r.seqs, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(r.pages, [5, 10, 20, 40, 25]);
  });

  test('a reader stopped early closes cleanly (the page in flight is awaited)', async () => {
    const stats = newReadStats();
    let n = 0;
    for await (const page of readEvents(env.client, base, stats)) {
      n += page.length;
      if (n >= 10) break;
    }
    assert.equal(n, 10);
  });

  test('a slow first page hands the rest of the read to the cheaper superset when it holds not much more; same events, once each', async () => {
    const query = { range: { seq: { gte: 10 } } };
    const r = await read({ ...base, query, cheaperQuery: { range: { seq: { gte: 5 } } }, slowPageMs: 0 });
    assert.equal(r.stats.widened, true);
    // Hits the query would not have selected may come (the evaluators turn them away); none twice, order kept.
    const seqs = r.seqs as number[];
    assert.deepEqual(seqs.filter((x) => x >= 10), Array.from({ length: 90 }, (_, i) => i + 10));
    assert.equal(new Set(seqs).size, seqs.length);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  test('a cheaper query that holds far more is not taken', async () => {
    const r = await read({ ...base, query: { range: { seq: { gte: 90 } } }, cheaperQuery: null, slowPageMs: 0, pageSize: 4 });
    assert.equal(r.stats.widened, undefined);
    assert.deepEqual(r.seqs, Array.from({ length: 10 }, (_, i) => i + 90));
  });

  test('cheaperFirst: when the cheaper superset\'s count fits one page, the whole read is that one page, the query never runs', async () => {
    const r = await read({ ...base, query: { range: { seq: { gte: 90 } } }, cheaperQuery: { range: { seq: { gte: 20 } } }, cheaperFirst: true, slowPageMs: 60_000 });
    assert.equal(r.stats.widened, true);
    assert.deepEqual(r.pages, [80], 'one page of all 80, though the page size is 5');
    assert.deepEqual(r.seqs, Array.from({ length: 80 }, (_, i) => i + 20));
  });

  test('cheaperFirst: a cheaper superset past one page of maxPageSize is not taken; the query reads as before', async () => {
    const r = await read({ ...base, query: { range: { seq: { gte: 90 } } }, cheaperQuery: null, cheaperFirst: true, maxPageSize: 50, slowPageMs: 60_000 });
    assert.equal(r.stats.widened, undefined);
    assert.deepEqual(r.seqs, Array.from({ length: 10 }, (_, i) => i + 90));
    assert.deepEqual(r.pages, [5, 5, 0]);
  });

  test('cheaperFirst: the query\'s costly clauses are decided on the window\'s values; the read selects what the query selects, in one page', async () => {
    const query = { bool: { filter: [{ range: { seq: { gte: 0 } } }, { wildcard: { 'process.name': { value: 'cmd*', case_insensitive: true } } }] } };
    const r = await read({ ...base, query, cheaperQuery: { range: { seq: { gte: 0 } } }, cheaperFirst: true, slowPageMs: 60_000 });
    assert.equal(r.stats.narrowed, true);
    assert.equal(r.stats.widened, undefined);
    const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 10 === 0).map((i) => (i * 7919) % 100).sort((a, b) => a - b);
    assert.deepEqual(r.seqs, expected);
    assert.deepEqual(r.pages, [10], 'one page: the cheaper count (100) bounds it');
    // A negated clause is decided as exactly: everything but those.
    const not = await read({ ...base, query: { bool: { must_not: [{ term: { 'process.name': { value: 'cmd.EXE', case_insensitive: true } } }] } }, cheaperQuery: null, cheaperFirst: true, slowPageMs: 60_000 });
    assert.equal(not.stats.narrowed, true);
    assert.equal(not.seqs.length, 90);
  });

  /** Reads through a proxy that decides per request; returns what it saw. */
  const readThrough = async (req: ReadRequest, decide: (method: string, path: string) => Fault | undefined, stopAfter?: number) => {
    const proxy = await startFaultProxy(esUrl(), decide);
    const client = createClient(loadConfig({ ELASTICSEARCH_URL: proxy.url }).elasticsearch);
    const stats = newReadStats();
    const seqs: unknown[] = [];
    try {
      let pages = 0;
      for await (const page of readEvents(client, req, stats)) {
        for (const e of page) seqs.push(e.source.seq);
        if (++pages === stopAfter) break;
      }
      return { stats, seqs, seen: [...proxy.seen] };
    } finally {
      await client.close();
      await proxy.close();
    }
  };

  test('auto: a cluster that refuses point in time (as one without it answers) is read by a sorted scroll, every event once, in order', async () => {
    // A cluster without point in time has no POST /<index>/_pit: it answers 405 (7.x before 7.10) or 400.
    for (const status of [405, 400]) {
      const r = await readThrough({ ...base, mode: 'auto' }, (method, path) => (method === 'POST' && path.split('?')[0].endsWith('/_pit') ? { status } : undefined));
      assert.equal(r.stats.mode, 'scroll', `status ${status}`);
      assert.deepEqual(r.seqs, Array.from({ length: 100 }, (_, i) => i));
      assert.ok(r.seen.some((s) => s.startsWith('POST') && s.endsWith('/_pit')), 'point in time was tried first');
      assert.ok(r.seen.some((s) => s.includes('/_search/scroll')), 'then scrolled');
      assert.ok(r.seen.some((s) => s.startsWith('DELETE /_search/scroll')), 'and the scroll cleared');
    }
  });

  test('a point in time is closed when the read stops early; a scroll is cleared the same way', async () => {
    const pit = await readThrough({ ...base, mode: 'pit' }, () => undefined, 2);
    assert.equal(pit.seqs.length, 10, 'stopped after two pages');
    assert.ok(pit.seen.includes('DELETE /_pit'), `requests: ${pit.seen.join(', ')}`);
    const open = await env.client.nodes.stats({ metric: 'indices', index_metric: 'search' });
    const contexts = Object.values(open.nodes).reduce((n, node) => n + Number((node.indices?.search as { open_contexts?: number } | undefined)?.open_contexts ?? 0), 0);
    assert.equal(contexts, 0, 'no search context left open');
    const scroll = await readThrough({ ...base, mode: 'scroll' }, () => undefined, 2);
    assert.equal(scroll.seqs.length, 10);
    assert.ok(scroll.seen.includes('DELETE /_search/scroll'), `requests: ${scroll.seen.join(', ')}`);
  });
});
