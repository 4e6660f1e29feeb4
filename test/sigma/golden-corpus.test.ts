/**
 * Every SigmaHQ Windows rule over every golden fixture, in memory, with each event's index the
 * backing index of its data stream: exactly the expected (rule, event) pairs fire, in every
 * layout. A field resolved wrongly shows up here as a missed detection, and an inert filter as
 * an extra one.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryAlertSink } from '../../src/alerts/writer.js';
import { runRule } from '../../src/engine/run.js';
import { loadRules } from '../../src/rules/load.js';
import { backingIndex, windowsFixtures } from '../helpers/windows-fixtures.js';

const CORPUS = new URL('../../../shared/corpus/sigmahq/', import.meta.url).pathname;

async function ymlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await ymlFiles(full)));
    else if (/\.ya?ml$/.test(e.name)) out.push(full);
  }
  return out;
}

test('SigmaHQ\'s Windows rules over the golden fixtures: exactly the expected detections, in every layout', async () => {
  const files = (await Promise.all(['rules/windows', 'rules-threat-hunting/windows', 'rules-emerging-threats'].map((r) => ymlFiles(join(CORPUS, r))))).flat().sort();
  const set = await loadRules(files, {});
  assert.ok(set.rules.length > 2500, `${set.rules.length} rules loaded`);
  const events = windowsFixtures()
    .flatMap((f) => f.docs.map((d, i) => ({ index: backingIndex(f.stream), id: `${f.file}#${i}`, timestamp: Date.parse(d['@timestamp']), source: d })))
    .sort((a, b) => a.timestamp - b.timestamp);
  const fired: string[] = [];
  for (const rule of set.rules) {
    const sink = new MemoryAlertSink();
    await runRule({ ...rule, enrichments: [], maxSignals: 1000 }, events, sink, { now: new Date(0) });
    for (const a of sink.alerts) {
      for (const e of (a.doc['kibana.alert.ancestors'] as { id: string }[])) fired.push(`${rule.file.slice(CORPUS.length)} <- ${e.id}`);
    }
  }
  assert.deepEqual(fired.sort(), [
    'rules/windows/builtin/windefend/win_defender_threat.yml <- agent-windows-defender-1116.json#0',
    'rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml <- agent-system-security-4688.json#0',
    'rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml <- winlogbeat-raw-security-4688.json#0',
    'rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml <- winlogbeat8-security-4688.json#0',
  ]);
});
