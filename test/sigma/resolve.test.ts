/**
 * Field resolution: a Sigma field is, per event, the first of its candidates the event has
 * (as a table of layouts), templates rebuild split values, value maps translate back; and the
 * pushed-down query for several candidates is exact ("c1 passes, or c1 is missing and c2 does"),
 * so a negated selection still pushes down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pushdown } from '../../src/search/pushdown.js';
import { mapField, loadPipelines } from '../../src/sigma/pipeline.js';
import { resolution } from '../../src/sigma/resolve.js';
import { alertsOf, sigmaRule } from '../helpers/sigma.js';
import { asSigma } from '../../src/sigma/compiled.js';

const pipelines = loadPipelines();
const winlogbeat = pipelines.pipelines.find((p) => p.name === 'windows-winlogbeat')!;
const resolve = (field: string, doc: unknown) => [...resolution(mapField(winlogbeat, field)!).get(doc)];

describe('field resolution', () => {
  const cases: [string, string, Record<string, unknown>, unknown[]][] = [
    ['raw layout', 'Image', { winlog: { event_data: { Image: 'C:\\a.exe' } } }, ['C:\\a.exe']],
    ['ECS layout (moved)', 'Image', { process: { executable: 'C:\\b.exe' }, winlog: { event_data: {} } }, ['C:\\b.exe']],
    ['4688 raw: NewProcessName', 'Image', { winlog: { event_data: { NewProcessName: 'C:\\c.exe' } } }, ['C:\\c.exe']],
    ['the event data field comes first where both are there', 'CommandLine', { process: { command_line: 'ecs' }, winlog: { event_data: { CommandLine: 'raw' } } }, ['raw']],
    ['4624 ECS: ProcessName moved to process.executable', 'ProcessName', { process: { executable: 'C:\\Windows\\System32\\winlogon.exe' } }, ['C:\\Windows\\System32\\winlogon.exe']],
    ['4624 ECS: IpAddress moved to source.ip; "-" stays in event data', 'IpAddress', { source: { ip: '127.0.0.1' }, winlog: { event_data: {} } }, ['127.0.0.1']],
    ['registry DWORD printed back as Sysmon writes it', 'Details', { registry: { data: { strings: ['10'], type: 'SZ_DWORD' } } }, ['DWORD (0x0000000a)']],
    ['registry string data as written', 'Details', { registry: { data: { strings: ['C:\\x.exe'], type: 'REG_SZ' } } }, ['C:\\x.exe']],
    ['none present', 'Image', { winlog: { event_data: {} } }, []],
    ['User rebuilt from user.domain and user.name', 'User', { user: { domain: 'NT AUTHORITY', name: 'SYSTEM' } }, ['NT AUTHORITY\\SYSTEM']],
    ['User template needs both fields', 'User', { user: { name: 'SYSTEM' } }, []],
    ['Hashes rebuilt per hash', 'Hashes', { process: { hash: { sha1: 'aa', md5: 'bb' }, pe: { imphash: 'cc' } } }, ['SHA1=aa', 'MD5=bb', 'IMPHASH=cc']],
    ['Initiated translated back', 'Initiated', { network: { direction: 'egress' } }, ['true']],
    ['a value the map does not list is absent', 'Initiated', { network: { direction: 'unknown' } }, []],
    ['Defender names with spaces (Winlogbeat)', 'Threat Name', { winlog: { event_data: { 'Threat Name': 'EICAR' } } }, ['EICAR']],
    ['Defender names with underscores (Elastic Agent)', 'Threat Name', { winlog: { event_data: { Threat_Name: 'EICAR' } } }, ['EICAR']],
    ['WMI user data', 'Operation', { winlog: { user_data: { Operation: 'Start IWbemServices' } } }, ['Start IWbemServices']],
    ['4104 script block', 'ScriptBlockText', { powershell: { file: { script_block_text: 'iex' } } }, ['iex']],
  ];
  for (const [name, field, doc, want] of cases) test(`${name}: ${field}`, () => assert.deepEqual(resolve(field, doc), want));
});

describe('the first present candidate, in memory and pushed down', () => {
  const rule = sigmaRule(`title: t
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\x.exe'
  filter:
    CommandLine|contains: 'benign'
  condition: selection and not filter
`);
  const route = asSigma(rule.compiled) ? asSigma(rule.compiled)!.routes.find((r) => r.pipeline === 'windows-winlogbeat')! : undefined;

  test('a later candidate does not count when an earlier one is there', async () => {
    const sysmon = (data: Record<string, unknown>, ecs: Record<string, unknown>) => ({
      index: 'winlogbeat-x', id: JSON.stringify(data), timestamp: 1000,
      source: { '@timestamp': '1970-01-01T00:00:01Z', winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 1, event_data: data }, ...ecs },
    });
    const alerts = await alertsOf(rule, [
      sysmon({ Image: 'C:\\x.exe', CommandLine: 'run' }, { process: { command_line: 'benign' } }),
      sysmon({ Image: 'C:\\y.exe' }, { process: { executable: 'C:\\x.exe' } }),
      sysmon({}, { process: { executable: 'C:\\x.exe', command_line: 'benign' } }),
    ]);
    assert.deepEqual(alerts.map((a) => a['kibana.alert.ancestors'][0].id), [JSON.stringify({ Image: 'C:\\x.exe', CommandLine: 'run' })]);
  });

  test('the query is exact: the negated filter is pushed down over both candidates', () => {
    const types = new Map(['winlog.channel', 'winlog.event_id', 'winlog.event_data.Image', 'winlog.event_data.NewProcessName', 'process.executable',
      'winlog.event_data.CommandLine', 'process.command_line'].map((f) => [f, new Set(['keyword'])]));
    const pd = new Pushdown(types);
    const t = route!.detections.get('main')!.translate(pd);
    const text = JSON.stringify(t.query);
    assert.ok(text.includes('"must_not":[{"bool":{"should":'), text);
    assert.ok(text.includes('{"bool":{"must_not":[{"exists":{"field":"winlog.event_data.CommandLine"}}]}}'), text);
  });

  test('a candidate no index maps is left out of the query', () => {
    const types = new Map(['winlog.channel', 'winlog.event_id', 'process.executable'].map((f) => [f, new Set(['keyword'])]));
    const text = JSON.stringify(route!.detections.get('main')!.translate(new Pushdown(types)).query);
    assert.ok(text.includes('process.executable'), text);
    assert.ok(!text.includes('winlog.event_data.Image'), text);
  });
});

test('`User: null` pushes down only the plain candidate: a template is absent when one of its fields is', () => {
  const rule = sigmaRule(`title: t
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    User: null
  condition: selection
`);
  const route = asSigma(rule.compiled) ? asSigma(rule.compiled)!.routes.find((r) => r.pipeline === 'windows-winlogbeat')! : undefined;
  const types = new Map(['winlog.channel', 'winlog.event_id', 'winlog.event_data.User', 'user.name', 'user.domain'].map((f) => [f, new Set(['keyword'])]));
  const text = JSON.stringify(route!.detections.get('main')!.translate(new Pushdown(types)).query);
  assert.ok(text.includes('{"exists":{"field":"winlog.event_data.User"}}'), text);
  assert.ok(!text.includes('user.name') && !text.includes('user.domain'), text);
});
