/**
 * The shipped WinRM reconnaissance Sigma rule wherever the Security channel lands: Winlogbeat
 * through Logstash (a plain daily index, event data as Windows wrote it), Winlogbeat 8 with its
 * ingest pipelines (NewProcessName moved to process.executable) and Elastic Agent's System
 * integration and Windows forwarded stream (data streams: hits come from backing indices). The
 * events are the golden 4688 documents of each layout (test/fixtures/windows) with the process,
 * computer, account and time of each event of the scenario set in the fields that layout uses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEventIndex } from '../../src/demo/load.js';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { testEnv, type TestEnv } from '../helpers/es.js';
import { REPO } from '../helpers/rules.js';
import { backingIndex, windowsFixtures, type Layout } from '../helpers/windows-fixtures.js';
import { deleteIndices } from '../../src/search/indices.js';

const MIN = 60_000;
const WSMPROVHOST = 'C:\\Windows\\System32\\wsmprovhost.exe';

interface Target { readonly layout: Layout; readonly write: string; readonly golden: Record<string, any> }

describe('the WinRM reconnaissance Sigma rule on every layout of the Security channel', () => {
  let env: TestEnv;
  let rule: Rule;
  let targets: Record<string, Target>;
  let logon4624: Record<string, any>;
  let n = 0;

  before(async () => {
    env = await testEnv();
    const set = await loadRules([`${REPO}rules/sigma/win_security_winrm_listening_service_reconnaissance.yml`]);
    assert.equal(set.rules.length, 1, set.errors.map((e) => e.message).join('; '));
    rule = { ...set.rules[0], enrichments: [] };
    const fx = windowsFixtures();
    const golden = (file: string) => fx.find((f) => f.file === file)!.docs[0];
    const p = env.prefix;
    logon4624 = golden('winlogbeat8-security-4624.json');
    targets = {
      'Winlogbeat through Logstash': { layout: 'winlogbeat-raw', write: `winlogbeat-7.17.0-${p}-2026.11.26`, golden: golden('winlogbeat-raw-security-4688.json') },
      'Winlogbeat 8 (ECS, data stream)': { layout: 'winlogbeat8-ecs', write: `winlogbeat-8.15.0-${p}`, golden: golden('winlogbeat8-security-4688.json') },
      'Elastic Agent System (logs-system.security)': { layout: 'agent-system', write: `logs-system.security-${p}`, golden: golden('agent-system-security-4688.json') },
      'Elastic Agent Windows forwarded (logs-windows.forwarded)': { layout: 'agent-system', write: `logs-windows.forwarded-${p}`, golden: golden('agent-system-security-4688.json') },
    };
    for (const t of Object.values(targets)) {
      if (t.layout === 'winlogbeat-raw') await createEventIndex(env.client, t.write);
      else await createEventIndex(env.client, backingIndex(t.write), t.write);
    }
  });
  after(async () => {
    if (env) await deleteIndices(env.client, [`.ds-*-${env.prefix}-*`, `winlogbeat-7.17.0-${env.prefix}-*`]);
    await env?.close();
  });

  /** The golden 4688 of a layout, as the event of one computer starting a process. */
  function event(t: Target, ts: number, computer: string, account: string, image = WSMPROVHOST, logonId?: string): Record<string, any> {
    const d = structuredClone(t.golden);
    d['@timestamp'] = new Date(ts).toISOString();
    d.winlog.computer_name = computer;
    d.host = { ...d.host, name: computer };
    d.winlog.event_data.TargetUserName = account;
    d.winlog.record_id = String(n++);
    if (logonId) d.winlog.event_data.TargetLogonId = logonId;
    if (t.layout === 'winlogbeat-raw') d.winlog.event_data.NewProcessName = image;
    else d.process = { ...d.process, executable: image, name: image.split('\\').pop(), command_line: `${image} -Embedding` };
    return d;
  }

  async function scenario(t: Target, start: number, docs: Record<string, any>[], r: Rule = rule): Promise<number> {
    await env.client.bulk({ refresh: true, operations: docs.flatMap((d) => [{ create: { _index: t.write } }, d]) });
    // Executions every 5 minutes over the burst, as the scheduler runs the rule.
    let written = 0;
    for (let k = 0; k <= 5; k++) {
      const end = start + k * 5 * MIN;
      const { record } = await executeRule(env.deps, { ...r, indices: [t.write] }, { start: end - r.lookbackMs, end }, 'scheduled');
      assert.equal(record.status, 'succeeded', record.error);
      assert.deepEqual(record.eventsUnrouted, {}, 'every event fits the rule\'s pipelines');
      written += record.alertsWritten;
    }
    return written;
  }

  test('the rule reads winlogbeat-*, logs-system.security-* and logs-windows.* (forwarded) itself', () => {
    for (const p of ['winlogbeat-*', 'logs-system.security-*', 'logs-windows.*']) assert.ok(rule.indices.includes(p), `${p} in ${rule.indices.join(', ')}`);
  });

  let hour = 0;
  const base = Date.parse('2026-11-20T00:00:00Z');
  for (const name of ['Winlogbeat through Logstash', 'Winlogbeat 8 (ECS, data stream)', 'Elastic Agent System (logs-system.security)', 'Elastic Agent Windows forwarded (logs-windows.forwarded)']) {
    test(`${name}: 31 computers alert once; 30 do not; machine accounts do not count`, async () => {
      const t = targets[name];
      const at = () => base + (hour++) * 3_600_000;
      const s1 = at();
      assert.equal(await scenario(t, s1, Array.from({ length: 31 }, (_, i) => event(t, s1 + i * 10_000, `WS${i}`, 'alice'))), 1, '31 computers');
      const s2 = at();
      assert.equal(await scenario(t, s2, Array.from({ length: 30 }, (_, i) => event(t, s2 + i * 10_000, `WS${i}`, 'alice'))), 0, '30 computers');
      const s3 = at();
      assert.equal(await scenario(t, s3, [
        ...Array.from({ length: 30 }, (_, i) => event(t, s3 + i * 10_000, `WS${i}`, 'alice')),
        event(t, s3 + 301_000, 'SRV9', 'SRV9$'),
        // Not wsmprovhost: does not count either.
        event(t, s3 + 302_000, 'SRV10', 'alice', 'C:\\Windows\\System32\\cmd.exe'),
      ]), 0, 'machine account and other processes');
    });
  }

  test('Winlogbeat 8: the alert is enriched with the logon source although the pipeline moved IpAddress to source.ip', async () => {
    const t = targets['Winlogbeat 8 (ECS, data stream)'];
    const s = base + 20 * 3_600_000;
    const logon = { ...structuredClone(logon4624), '@timestamp': new Date(s - 5000).toISOString() };
    const enriched = { ...rule, enrichments: ['windows_logon_source'] };
    const written = await scenario(t, s, [logon, ...Array.from({ length: 31 }, (_, i) => event(t, s + i * 10_000, `EN${i}`, 'vagrant', WSMPROVHOST, '0x1008e'))], enriched);
    assert.equal(written, 1);
    await env.client.indices.refresh({ index: env.alertsIndex });
    // The only alert of this file with an enrichment: the other scenarios run without.
    const res = await env.client.search<Record<string, any>>({ index: env.alertsIndex, size: 100 });
    const alert = res.hits.hits.map((h) => h._source!).find((a) => a.lookout.enrichment?.windows_logon_source);
    assert.ok(alert, 'an enriched alert');
    assert.deepEqual(alert.lookout.enrichment.windows_logon_source.sources, ['127.0.0.1']);
    assert.equal(alert.lookout.enrichment.windows_logon_source.logons[0].workstation, 'VAGRANT-2012-R2');
  });
});
