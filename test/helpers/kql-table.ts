/**
 * The KQL verdict table: one document, field types as `_field_caps` reports them, and what each
 * query answers on it. test/kql/evaluate.test.ts checks the in-memory verdicts;
 * test/kql/server-agreement.test.ts checks the same rows against the real server.
 */
import type { FieldTypes } from '../../src/search/field-caps.js';

export const types: FieldTypes = new Map(
  Object.entries({
    'host.name': ['keyword'],
    'process.name': ['keyword'],
    'process.pid': ['long'],
    'process.args': ['keyword'],
    'process.parent.name': ['keyword'],
    process: ['object'],
    ratio: ['double'],
    f32: ['float'],
    message: ['text'],
    '@timestamp': ['date'],
    'source.ip': ['ip'],
    'dns.resolved': ['boolean'],
    mixed: ['keyword', 'text'],
    items: ['nested'],
    'items.name': ['keyword'],
    'items.size': ['long'],
  }).map(([k, v]) => [k, new Set(v)]),
);

export const NOW = Date.parse('2024-05-15T12:00:00Z');

export const doc = {
  '@timestamp': '2024-05-14T10:00:00.000Z',
  host: { name: 'web-1' },
  process: { name: 'cmd.exe', pid: 4, args: ['cmd.exe', '/c', 'whoami'] },
  'process.parent': { name: 'explorer.exe' },
  ratio: 0.5,
  f32: 0.1,
  message: 'Failed password for root from 10.1.2.3',
  source: { ip: '10.1.2.3' },
  dns: { resolved: true },
  items: [{ name: 'a', size: 1 }, { name: 'b', size: 5 }],
};

export const verdicts: [string, boolean][] = [
  ['', true],
  ['host.name:web-1', true],
  ['host.name:WEB-1', false],
  ['host.name:"web-1"', true],
  ['host.name:web', false],
  ['host.name:web*', true],
  ['host.name:*-1', true],
  ['host.name:w*b*1', true],
  ['host.name:web-?', false],
  ['host.name:*', true],
  ['user.name:*', false],
  ['process.args:whoami', true],
  ['process.args:(whoami and cmd.exe)', true],
  ['process.args:(whoami and not cmd.exe)', false],
  ['process.pid:4', true],
  ['process.pid:4.0', true],
  ['process.pid:4.5', false],
  ['process.pid > 3 and process.pid < 5', true],
  ['process.pid >= 4.5', false],
  ['process.pid > 3.5', true],
  ['ratio:0.5', true],
  ['ratio < 0.5', false],
  ['f32:0.1', true],
  ['source.ip:10.1.2.3', true],
  ['source.ip:10.0.0.0/8', true],
  ['source.ip:"10.1.2.0/24"', true],
  ['source.ip:192.168.0.0/16', false],
  ['source.ip:"::ffff:10.1.2.3"', true],
  ['source.ip > 10.1.2.2', true],
  ['source.ip:10.1.2.*', false], // a wildcard on an ip field is refused by the server
  ['dns.resolved:true', true],
  ['dns.resolved:false', false],
  ['dns.resolved:"true"', true],
  ['@timestamp:2024-05-14', true],
  ['@timestamp:2024-05', false], // the first day of the month only, as the server reads it
  ['@timestamp:2024-05-14||/M', true], // gte rounds down, lte up: the whole month
  ['@timestamp >= 2024-05-14||/M', true],
  ['@timestamp:2024-05-13', false],
  ['@timestamp > 2024-05-14', false],
  ['@timestamp >= 2024-05-14', true],
  ['@timestamp < "2024-05-14T10:00:00"', false],
  ['@timestamp <= "2024-05-14T10:00:00"', true], // the bound takes its last millisecond
  ['@timestamp > now-1d', false],
  ['@timestamp > now-2d', true],
  ['@timestamp > now-1d/d', false],
  ['@timestamp >= now-1d/d', true],
  ['@timestamp > now/d', false],
  ['@timestamp < now-2h', true],
  ['@timestamp >= 2024-05-14||+1d', false],
  ['@timestamp:"2024-05-14T10:00:00Z"', true],
  ['@timestamp:"2024-05-14T12:00:00+02:00"', true],
  // text: lower-cased tokens; match needs one, match_phrase a run
  ['message:password', true],
  ['message:PASSWORD', true],
  ['message:"password for root"', true],
  ['message:"root for"', false],
  ['message:"root for" or message:failed', true],
  ['message:pass*', true],
  // field-less terms search every field
  ['whoami', true],
  ['explorer.exe', true],
  ['"for root"', true],
  ['nothing-here', false],
  ['cmd*', true],
  // wildcard field names: dotted keys and objects alike
  ['process.*:explorer.exe', true],
  ['process.parent.name:explorer.exe', true],
  // boolean structure
  ['not host.name:web-1', false],
  ['host.name:x or process.pid:4 and not ratio:1', true],
  ['(host.name:x or process.pid:4) and ratio:1', false],
  // nested: the inner condition holds in one object
  ['items:{ name:a and size:1 }', true],
  ['items:{ name:a and size:5 }', false],
  ['items:{ name:b and size > 2 }', true],
  ['items.name:a', false], // a nested field is not on the root document
  ['process:{ name:"cmd.exe" }', false], // not a nested mapping: the server matches nothing (or fails)
  // unknown to the types: matches nothing, as on the server
  ['unknown:x', false],
];


/**
 * Rows whose translated query the server refuses (it fails the search, as it would Kibana's):
 * there the evaluator gives the table's verdict (nothing matches through the refused part) and
 * lists the field as approximate.
 */
export const refusedByServer: ReadonlyMap<string, string> = new Map([
  ['source.ip:10.1.2.*', 'a wildcard (query_string) on an ip field'],
  ['process.*:explorer.exe', 'process.* takes in process.pid, and a match of "explorer.exe" on a long field fails'],
  ['process:{ name:"cmd.exe" }', 'a nested query on an object that is not mapped nested'],
]);
