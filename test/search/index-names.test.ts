/** The names an index answers to: by its own name (backing indices) and from `_resolve/index` on the real server. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dataStreamOf, namesFromIndex, namesFromResolved, resolveIndexNames } from '../../src/search/index-names.js';
import { testClient, uniqueName } from '../helpers/es.js';

describe('index names', () => {
  for (const [index, stream] of [
    ['.ds-winlogbeat-8.15.0-2026.11.26-000001', 'winlogbeat-8.15.0'],
    ['.ds-logs-system.security-default-2026.11.26-000042', 'logs-system.security-default'],
    ['.ds-logs-windows.sysmon_operational-default-000003', 'logs-windows.sysmon_operational-default'],
    ['winlogbeat-7.17.0-2026.11.26', undefined],
    ['.ds-no-generation', undefined],
    ['.kibana_1', undefined],
  ] as const) {
    test(`${index} -> ${stream ?? 'no data stream'}`, () => {
      assert.equal(dataStreamOf(index), stream);
      assert.deepEqual(namesFromIndex(index), stream ? [index, stream] : [index]);
    });
  }

  test('a _resolve/index answer: aliases, data streams, and names the answer does not hold', () => {
    const names = namesFromResolved({
      indices: [{ name: 'win-a', aliases: ['windows'] }, { name: '.ds-logs-x-default-2026.11.26-000001', data_stream: 'logs-x-default' }],
      aliases: [{ name: 'all-windows', indices: ['win-a'] }],
      data_streams: [{ name: 'logs-y-default', backing_indices: ['.ds-logs-y-default-2026.11.26-000002'] }],
    });
    assert.deepEqual(names('win-a'), ['win-a', 'windows', 'all-windows']);
    assert.deepEqual(names('.ds-logs-x-default-2026.11.26-000001'), ['.ds-logs-x-default-2026.11.26-000001', 'logs-x-default']);
    assert.deepEqual(names('.ds-logs-y-default-2026.11.26-000002'), ['.ds-logs-y-default-2026.11.26-000002', 'logs-y-default']);
    assert.deepEqual(names('.ds-logs-z-2026.11.26-000001'), ['.ds-logs-z-2026.11.26-000001', 'logs-z']);
  });

  describe('on the real server', () => {
    const client = testClient();
    const stream = uniqueName('winlogbeat-8.15.0');
    const backing = `.ds-${stream}-2026.11.26-000001`;
    const plain = uniqueName('winlogbeat-plain');
    before(async () => {
      await client.indices.create({ index: backing, aliases: { [stream]: { is_write_index: true } } });
      await client.indices.create({ index: plain, aliases: { [`${plain}-alias`]: {} } });
    });
    after(async () => {
      await client.indices.delete({ index: `${backing},${plain}`, ignore_unavailable: true, expand_wildcards: 'all' } as never).catch(() => undefined);
      await client.close();
    });

    test('patterns resolve to the backing index and the plain index with their aliases', async () => {
      const { names, error } = await resolveIndexNames(client, [`${stream.slice(0, -3)}*`, `${plain}-al*`]);
      assert.equal(error, undefined);
      assert.deepEqual(names(backing), [backing, stream]);
      assert.deepEqual(names(plain), [plain, `${plain}-alias`]);
    });

    test('an index the answer does not hold still answers to the names its own name gives', async () => {
      const { names } = await resolveIndexNames(client, [uniqueName('missing-concrete-index')]);
      assert.deepEqual(names(backing), [backing, stream]);
      assert.deepEqual(names(plain), [plain]);
    });
  });
});
