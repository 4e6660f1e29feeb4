/**
 * Windows events as Winlogbeat and Elastic Agent write them, on the real server: the golden
 * documents of elastic/beats and elastic/integrations (test/fixtures/windows) indexed under
 * data stream backing index names (`.ds-<stream>-<date>-000001`, the stream's name an alias of
 * it: hits come back with `_index` exactly as a data stream's do; 7.17 OSS has no data streams),
 * read through the stream names. SigmaHQ's rules fire on them in every layout; each field the
 * ingest pipelines move, split or translate resolves; an event whose index fits no pipeline and
 * a field no index has are reported in the log, the execution record and the state index.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { backfillRule } from '../../src/scheduler/backfill.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { createEventIndex } from '../../src/demo/load.js';
import { alertsIn, testEnv, type TestEnv } from '../helpers/es.js';
import { runCli } from '../helpers/cli.js';
import { esUrl } from '../helpers/es.js';
import { sigmaRule } from '../helpers/sigma.js';
import { backingIndex, windowsFixtures, type Fixture } from '../helpers/windows-fixtures.js';
import { deleteIndices } from '../../src/search/indices.js';

const CORPUS = new URL('../../../shared/corpus/sigmahq/', import.meta.url).pathname;
const WINDOW = { start: Date.parse('2019-01-01T00:00:00Z'), end: Date.parse('2025-01-01T00:00:00Z') };

describe('Windows layouts (Winlogbeat raw and 8 ECS, Elastic Agent, Defend) in backing indices', () => {
  let env: TestEnv;
  let fixtures: (Fixture & { index: string; alias: string })[];
  let patterns: string[];

  before(async () => {
    env = await testEnv();
    fixtures = windowsFixtures().map((f) => ({ ...f, alias: `${f.stream}-${env.prefix}`, index: backingIndex(`${f.stream}-${env.prefix}`) }));
    for (const index of new Set(fixtures.map((f) => f.index))) {
      const alias = fixtures.find((f) => f.index === index)!.alias;
      await createEventIndex(env.client, index, alias);
    }
    // Written through the stream name, as Winlogbeat and Elastic Agent write.
    await env.client.bulk({ refresh: true, operations: fixtures.flatMap((f) => f.docs.flatMap((d, i) => [{ create: { _index: f.alias, _id: `${f.file}#${i}` } }, d])) });
    patterns = [`winlogbeat-*-${env.prefix}`, `logs-*-${env.prefix}`];
  });
  after(async () => {
    if (env) await deleteIndices(env.client, [`.ds-*-${env.prefix}-*`]);
    await env?.close();
  });

  async function run(rule: Rule) {
    const r = { ...rule, indices: patterns, enrichments: [] };
    const result = await executeRule(env.deps, r, WINDOW, 'once');
    assert.equal(result.record.status, 'succeeded', result.record.error);
    return result;
  }

  async function alertedIds(ruleId: string): Promise<string[]> {
    const alerts = (await alertsIn(env.client, env.alertsIndex)).filter((a) => a['kibana.alert.rule.uuid'] === ruleId || a['kibana.alert.rule.rule_id'] === ruleId);
    return alerts.map((a) => a['kibana.alert.ancestors'][0].id).sort();
  }

  async function corpusRule(path: string): Promise<Rule> {
    const set = await loadRules([`${CORPUS}${path}`]);
    assert.equal(set.rules.length, 1, [...set.errors.map((e) => e.message), ...set.skipped.map((s) => s.reason)].join('; '));
    return set.rules[0];
  }

  test('hits come back from the backing indices, read through the stream names', async () => {
    const res = await env.client.search({ index: patterns.join(','), size: 100 });
    const indices = new Set(res.hits.hits.map((h) => h._index));
    assert.deepEqual([...indices].sort(), [...new Set(fixtures.map((f) => f.index))].sort());
    assert.ok([...indices].every((i) => i.startsWith('.ds-')));
  });

  test('SigmaHQ\'s event log clearing rule fires on the 4688 of Winlogbeat raw, Winlogbeat 8 ECS and Elastic Agent System', async () => {
    const rule = await corpusRule('rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml');
    const { record } = await run(rule);
    assert.equal(record.alertsWritten, 3);
    assert.deepEqual(record.eventsUnrouted, {});
    assert.deepEqual(await alertedIds(rule.ruleId), ['agent-system-security-4688.json#0', 'winlogbeat-raw-security-4688.json#0', 'winlogbeat8-security-4688.json#0']);
  });

  test('SigmaHQ\'s Defender threat rule fires on Elastic Agent\'s Defender data stream', async () => {
    const rule = await corpusRule('rules/windows/builtin/windefend/win_defender_threat.yml');
    const { record } = await run(rule);
    assert.equal(record.alertsWritten, 1);
    assert.deepEqual(await alertedIds(rule.ruleId), ['agent-windows-defender-1116.json#0']);
  });

  // Sigma fields the ingest pipelines move, split, translate or rename, one rule per source.
  const cases: { name: string; logsource: string; selection: string; expect: string[] }[] = [
    {
      name: 'Winlogbeat 8 Sysmon 1: Image, ParentImage, CommandLine, OriginalFileName, CurrentDirectory (moved), User (split), Hashes (split, lower-cased)',
      logsource: 'category: process_creation',
      selection: `Image|endswith: '\\notepad.exe'
    ParentImage|endswith: '\\explorer.exe'
    CommandLine|contains: 'system32\\notepad.exe'
    OriginalFileName: 'NOTEPAD.EXE'
    CurrentDirectory: 'C:\\Users\\vagrant\\'
    User: 'VAGRANT\\vagrant'
    Hashes|contains: 'SHA1=B6D237154F2E528F0B503B58B025862D66B02B73'
    IntegrityLevel: Medium`,
      expect: ['winlogbeat8-sysmon-1.json#0'],
    },
    {
      name: 'Elastic Agent Sysmon 23: TargetFilename, Image (moved), Hashes with IMPHASH, User',
      logsource: 'category: file_delete',
      selection: `TargetFilename|endswith: '\\test.test.exe'
    Image|endswith: '\\go.exe'
    Hashes|contains: 'IMPHASH=D90D8C7812AEC8DA0FA173AFA1293AB2'
    User: 'VAGRANT-2012-R2\\vagrant'`,
      expect: ['agent-windows-sysmon-23.json#0'],
    },
    {
      name: 'Winlogbeat 8 Sysmon 13: TargetObject (removed, in registry.path), Details of a DWORD (rewritten as a decimal number)',
      logsource: 'category: registry_set',
      selection: `TargetObject|endswith: '\\Software\\Key 1'
    Details: 'DWORD (0x00000004)'
    Image|endswith: '\\regedit.exe'
    EventType: SetValue`,
      expect: ['winlogbeat8-sysmon-13.json#0'],
    },
    {
      name: 'Winlogbeat 8 PowerShell 4104: ScriptBlockText (moved to powershell.file.script_block_text)',
      logsource: 'category: ps_script',
      selection: `ScriptBlockText|contains: 'patata.ps1'`,
      expect: ['winlogbeat8-powershell-4104.json#0'],
    },
    {
      name: 'Winlogbeat 8 PowerShell 4103: ContextInfo and Payload (parsed away; in message)',
      logsource: 'category: ps_module',
      selection: `ContextInfo|contains|all: ['Host Name = ServerRemoteHost', 'wsmprovhost.exe']
    Payload|contains: 'CommandInvocation(cmd.exe)'`,
      expect: ['winlogbeat8-powershell-4103.json#0'],
    },
    {
      name: 'Elastic Agent Defender 1116: ThreatName (Threat_Name), with spaces in the name too',
      logsource: 'service: windefend',
      selection: `ThreatName|endswith: 'EICAR_Test_File'
    Threat Name|contains: 'Virus:DOS'`,
      expect: ['agent-windows-defender-1116.json#0'],
    },
    {
      name: 'Elastic Defend process: Image, ParentImage, Hashes',
      logsource: 'category: process_creation',
      selection: `Image|endswith: '\\svchost.exe'
    ParentImage|endswith: '\\services.exe'
    Hashes|contains: 'MD5=1B280AD032268A636ECFE6F9165431B7'`,
      expect: ['defend-process.json#0'],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const rule = sigmaRule(`title: '${c.name.slice(0, 40)}'
id: ${crypto.randomUUID()}
logsource:
  product: windows
  ${c.logsource}
detection:
  selection:
    ${c.selection}
  condition: selection
level: high
`);
      const { record } = await run(rule);
      assert.deepEqual(await alertedIds(rule.ruleId), c.expect);
      assert.deepEqual(record.missingFields, []);
    });
  }

  test('a filter on a field the pipeline moved still applies; `User: null` does not exclude events that have a user', async () => {
    const rule = sigmaRule(`title: filters on moved fields
id: ${crypto.randomUUID()}
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith:
      - '\\notepad.exe'
      - '\\wevtutil.exe'
  filter_user:
    User|startswith: 'VAGRANT\\'
  filter_null:
    User: null
  condition: selection and not 1 of filter_*
level: high
`);
    // notepad (Sysmon, User VAGRANT\vagrant) is filtered out; the 4688s have no Sysmon User:
    // `User: null` holds for them, so they are filtered too.
    await run(rule);
    assert.deepEqual(await alertedIds(rule.ruleId), []);
    const keep = sigmaRule(`title: null filter only
id: ${crypto.randomUUID()}
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\notepad.exe'
  filter_null:
    User: null
  condition: selection and not filter_null
level: high
`);
    await run(keep);
    assert.deepEqual(await alertedIds(keep.ruleId), ['winlogbeat8-sysmon-1.json#0']);
  });

  test('events whose index fits no pipeline are counted per index, logged and recorded; fields no index has are named', async () => {
    // A stream no pipeline's patterns cover, read because the rule's lookout.index names it.
    const stream = `custom-windows-${env.prefix}`;
    const other = backingIndex(stream);
    await createEventIndex(env.client, other, stream);
    await env.client.index({ index: stream, id: 'x', refresh: true, document: windowsFixtures()[1].docs[0] });
    const rule = sigmaRule(`title: unrouted
id: ${crypto.randomUUID()}
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\wevtutil.exe'
  filter:
    NoSuchFieldAnywhere: 'x'
  condition: selection and not filter
level: high
`);
    const result = await executeRule(env.deps, { ...rule, indices: [...patterns, stream], enrichments: [] }, WINDOW, 'once');
    assert.equal(result.record.status, 'succeeded', result.record.error);
    // The Defend event too: the rule has no windows-ecs route (that pipeline maps no
    // NoSuchFieldAnywhere), so Defend's index is one it reads but cannot evaluate.
    const defend = fixtures.find((f) => f.layout === 'defend')!.index;
    assert.deepEqual(result.record.eventsUnrouted, { [other]: 1, [defend]: 1 });
    assert.deepEqual(result.record.missingFields, ['NoSuchFieldAnywhere']);
    assert.equal(result.record.alertsWritten, 3);
    const warnings = env.logs().filter((l) => l.level === 'warn' && l.rule_id === rule.ruleId).map((l) => String(l.message));
    assert.ok(warnings.some((m) => m.includes(`${other}: 1`) && m.includes('fits none of the rule')), warnings.join('\n'));
    assert.ok(warnings.some((m) => m.includes('NoSuchFieldAnywhere')), warnings.join('\n'));
    await env.client.indices.refresh({ index: env.stateIndex });
    const stored = await env.client.search<Record<string, any>>({ index: env.stateIndex, query: { term: { execution_id: result.record.executionId } } });
    const doc = stored.hits.hits[0]._source!;
    assert.equal(doc.events_unrouted, 2);
    assert.deepEqual(new Set(doc.unrouted_indices.map((u: { index: string }) => u.index)), new Set([other, defend]));
    assert.deepEqual(doc.missing_fields, ['NoSuchFieldAnywhere']);
    await env.client.indices.delete({ index: other });
  });

  test('lookout validate --cluster names the fields no target index has', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-validate-'));
    try {
      await writeFile(join(dir, 'rule.yml'), `title: validate
id: 1d0b2f0e-9a1c-4c55-8a53-0c2d7d8e0a10
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\wevtutil.exe'
  filter:
    NoSuchFieldAnywhere: 'x'
  condition: selection and not filter
level: high
lookout:
  index: ['winlogbeat-*-${env.prefix}']
`);
      const res = await runCli(['validate', '--cluster', dir], { ELASTICSEARCH_URL: esUrl() });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /warning .*field\(s\) no index of winlogbeat-\*-t-[0-9a-f]+ has: NoSuchFieldAnywhere\n/);
      assert.doesNotMatch(res.stdout, /has: .*Image/);
      const offline = await runCli(['validate', dir], { ELASTICSEARCH_URL: esUrl() });
      assert.doesNotMatch(offline.stdout, /warning/);
      // One execution, then `lookout status` shows what it recorded.
      const cliEnv = { ELASTICSEARCH_URL: esUrl(), LOOKOUT_RULES_DIR: dir, LOOKOUT_ALERTS_INDEX: env.alertsIndex, LOOKOUT_STATE_INDEX: env.stateIndex };
      const once = await runCli(['run', '--once'], cliEnv);
      assert.equal(once.code, 0, once.stderr);
      assert.match(once.stderr, /field\(s\) no target index has: NoSuchFieldAnywhere/);
      const status = await runCli(['status'], cliEnv);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /warning: validate: field\(s\) no target index has \(last execution\): NoSuchFieldAnywhere\n/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('backfill: backing indices route, and events of an index no pipeline covers are recorded per window', async () => {
    const stream = `custom-backfill-${env.prefix}`;
    await createEventIndex(env.client, backingIndex(stream), stream);
    await env.client.index({ index: stream, id: 'b', refresh: true, document: windowsFixtures()[1].docs[0] });
    const rule = sigmaRule(`title: backfill
id: ${crypto.randomUUID()}
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\wevtutil.exe'
  condition: selection
level: high
`);
    const result = await backfillRule(env.deps, { ...rule, indices: [...patterns, stream], enrichments: [] }, { from: WINDOW.start, to: WINDOW.end, stepMs: 400 * 86_400_000 });
    assert.equal(result.failed, false, result.error);
    assert.equal(result.alertsWritten, 3);
    await env.client.indices.refresh({ index: env.stateIndex });
    const records = await env.client.search<Record<string, any>>({ index: env.stateIndex, size: 100, query: { bool: { filter: [{ term: { rule_id: rule.ruleId } }, { term: { kind: 'backfill' } }] } } });
    const unrouted = records.hits.hits.flatMap((h) => h._source!.unrouted_indices ?? []);
    assert.deepEqual(unrouted, [{ index: backingIndex(stream), events: 1 }]);
    await env.client.indices.delete({ index: backingIndex(stream) });
  });
});
