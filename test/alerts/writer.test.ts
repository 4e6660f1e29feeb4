/**
 * The alert writer on the real server: bulk requests are cut by size, every alert lands once,
 * and an alert the server refuses is reported with its reason, not dropped or thrown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AlertDocument } from '../../src/alerts/build.js';
import { ElasticAlertSink, installAlertsTemplate, writeError } from '../../src/alerts/writer.js';
import { testClient, uniqueName } from '../helpers/es.js';

const alert = (i: number, extra: Record<string, unknown> = {}): AlertDocument => ({
  id: `alert-${i.toString().padStart(4, '0')}`,
  doc: { '@timestamp': new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), 'kibana.alert.rule.rule_id': 'writer-test', message: 'x'.repeat(300), ...extra },
} as unknown as AlertDocument);

describe('alert writer', () => {
  const client = testClient();
  const index = uniqueName('t-writer-alerts');
  before(async () => installAlertsTemplate(client, index));
  after(async () => {
    await client.indices.delete({ index, ignore_unavailable: true });
    await client.indices.deleteIndexTemplate({ name: `lookout-alerts-${index}` }).catch(() => undefined);
    await client.close();
  });

  test('bulk requests are sized by bytes: 40 alerts of ~0.5 kB with a 4 kB limit take several requests', async () => {
    const bodies: number[] = [];
    const onRequest = (_err: unknown, event: { meta: { request: { params: { path: string; body?: unknown; bulkBody?: unknown } } } } | null) => {
      const params = event?.meta.request.params;
      if (params?.path.endsWith('/_bulk')) bodies.push(Buffer.byteLength(String(params.bulkBody ?? params.body ?? '')));
    };
    client.diagnostic.on('request', onRequest as never);
    const sink = new ElasticAlertSink(client, index, undefined, false, 4096);
    const r = await sink.write(Array.from({ length: 40 }, (_, i) => alert(i)));
    client.diagnostic.off('request', onRequest as never);
    assert.equal(r.written, 40);
    assert.deepEqual(r.failed, []);
    assert.ok(bodies.length >= 5, `${bodies.length} bulk requests`);
    assert.ok(bodies.every((b) => b <= 4096), `bulk sizes ${bodies}`);
    const again = await sink.write([alert(3), alert(40)]);
    assert.equal(again.written, 1);
    assert.equal(again.duplicates, 1);
    assert.deepEqual([...await sink.existing(['alert-0000', 'alert-0040', 'alert-9999'])].sort(), ['alert-0000', 'alert-0040']);
  });

  test('an alert the server refuses is reported with its id and reason; the others are written', async () => {
    const sink = new ElasticAlertSink(client, index, { attempts: 2, baseDelayMs: 1 });
    // Lookout's own field with a value the template cannot take: nothing copied to move aside.
    const r = await sink.write([alert(100), alert(101, { 'kibana.alert.depth': { level: 1 } }), alert(102)]);
    assert.equal(r.written, 2);
    assert.deepEqual(r.failed.map((f) => f.id), ['alert-0101']);
    assert.match(r.failed[0].reason, /400 .*parsing_exception|mapper_parsing_exception/);
    const err = writeError(r);
    assert.deepEqual(err?.alertIds, ['alert-0101']);
    assert.match(String(err?.message), new RegExp(`1 alert\\(s\\) not written to ${index}: alert-0101 \\(400`));
    assert.equal(writeError(r, new Set(['alert-0100'])), undefined, 'another run\'s alerts are not its failure');
  });

  test('a 400 on a field copied from the events: the alert is written again without it, the field kept as JSON and named', async () => {
    const sink = new ElasticAlertSink(client, index, { attempts: 1, baseDelayMs: 1 });
    // process.x is not in the template: the first alert maps it dynamically as a keyword, the
    // second carries an object there, which the index refuses (mapper_parsing_exception).
    const first = await sink.write([alert(200, { process: { x: 'plain', pid: 1 } })]);
    assert.equal(first.written, 1);
    const r = await sink.write([alert(201, { process: { x: { nested: true }, pid: 2 }, host: { name: 'h' } })]);
    assert.deepEqual(r.failed, []);
    assert.equal(r.written, 1);
    const got = await client.get<Record<string, any>>({ index, id: 'alert-0201' });
    assert.deepEqual(got._source?.process, { pid: 2 });
    assert.deepEqual(got._source?.host, { name: 'h' });
    assert.deepEqual(got._source?.lookout.unmapped_fields, ['process.x']);
    assert.deepEqual(JSON.parse(got._source?.lookout.unmapped_source), { 'process.x': { nested: true } });
  });
});
