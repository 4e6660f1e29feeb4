/**
 * Two corpus rules run end to end over events written for them (rules read at test time from
 * ../shared/corpus): an aggregating one (STATS, DATE_DIFF against NOW, MV_FIRST, KEEP Esql.*)
 * and a non-aggregating one (METADATA _id, LIKE, IN, OR of AND groups), with what each should
 * and should not report.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { compileEsql } from '../../src/esql/compile.js';
import { NOW, run } from './helpers.js';

const ROOT = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;

function query(file: string): string {
  return (parse(readFileSync(ROOT + file, 'utf8')) as { rule: { query: string } }).rule.query;
}

const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

test('newly_observed_fortigate_alert: a rare recent FortiGate signature is one row with its ECS columns', () => {
  const base = { event: { module: 'fortinet_fortigate', action: 'signature', category: 'intrusion_detection', outcome: 'success' } };
  const events = [
    { ...base, '@timestamp': minutesAgo(5), message: 'Backdoor.Cobalt.Strike', source: { ip: '10.0.0.1' }, destination: { ip: '8.8.8.8' }, url: { domain: 'evil.example' } },
    { ...base, '@timestamp': minutesAgo(3), message: 'Backdoor.Cobalt.Strike', source: { ip: '10.0.0.1' }, destination: { ip: '8.8.4.4' } },
    // first seen an hour ago: not new
    { ...base, '@timestamp': minutesAgo(60), message: 'Old.Signature', source: { ip: '10.0.0.2' }, destination: { ip: '1.1.1.1' } },
    // excluded by the WHERE: a noisy message prefix, an authentication event
    { ...base, '@timestamp': minutesAgo(2), message: 'Web.Client: x', source: { ip: '10.0.0.3' } },
    { ...base, '@timestamp': minutesAgo(2), message: 'Auth', event: { ...base.event, category: 'authentication' } },
  ];
  const { rows } = run(query('rules/cross-platform/newly_observed_fortigate_alert.toml'), events);
  assert.deepEqual(rows, [{
    message: 'Backdoor.Cobalt.Strike',
    'event.category': 'intrusion_detection',
    'event.outcome': 'success',
    'Esql.alerts_count': 2,
    'Esql.first_time_seen': minutesAgo(5),
    'Esql.distinct_count_src_ip': 1,
    'Esql.distinct_count_dst_ip': 2,
    'Esql.recent': 5,
    'source.ip': '10.0.0.1',
    'destination.ip': '8.8.4.4',
    'url.domain': 'evil.example',
    'url.path': null,
  }]);
});

test('command_and_control_cobalt_strike_beacon: a non-aggregating rule, one row per matching event with its _id', () => {
  const q = compileEsql(query('rules/network/command_and_control_cobalt_strike_beacon.toml'));
  assert.equal(q.aggregating, false);
  assert.deepEqual(q.metadata, ['_id', '_version', '_index']);
  assert.equal(q.leadingConjuncts.length, 2);
  assert.equal(q.wholeSource, false);
  assert.deepEqual(q.fields, ['@timestamp', 'data_stream.dataset', 'destination.domain', 'destination.ip', 'event.category', 'network.protocol', 'source.ip']);
  const r = q.start({ now: NOW });
  const tls = { event: { category: ['network'] }, network: { protocol: 'tls' } };
  const rows = [
    ...r.push({ _id: 'hit', _index: 'packetbeat-1', _version: 1, _source: { ...tls, destination: { domain: 'abc.stage.12345678.example.com', ip: '1.2.3.4' } } }),
    ...r.push({ _id: 'dns', _index: 'packetbeat-1', _version: 1, _source: { event: { category: 'network' }, network: { protocol: 'dns' }, destination: { domain: 'abc.stage.12345678.x' } } }),
    ...r.push({ _id: 'short', _index: 'packetbeat-1', _version: 1, _source: { ...tls, destination: { domain: 'abc.stage.1234567.x' } } }),
    ...r.push({ _id: 'dataset', _index: 'logs-1', _version: 2, _source: { data_stream: { dataset: 'network_traffic.http' }, destination: { domain: 'xyz.stage.00000000.' } } }),
  ];
  // Rows come out as events arrive (no STATS or SORT): nothing is left for finish().
  assert.deepEqual(r.finish(), []);
  assert.deepEqual(rows.map((row) => [row.get('_id'), row.get('destination.domain'), row.get('network.protocol')]), [
    ['hit', 'abc.stage.12345678.example.com', 'tls'],
    ['dataset', 'xyz.stage.00000000.', null],
  ]);
  assert.deepEqual([...rows[0].keys()], ['@timestamp', 'destination.domain', 'source.ip', 'destination.ip', 'network.protocol', 'data_stream.dataset', '_id', '_version', '_index']);
});
