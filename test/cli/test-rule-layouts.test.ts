/**
 * `lookout test-rule` on Windows events as search hits from data stream backing indices: they
 * route by their data stream, and events whose index fits none of the rule's pipelines are
 * named per index on stderr instead of being dropped.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { backingIndex, windowsFixtures } from '../helpers/windows-fixtures.js';
import { REPO } from '../helpers/rules.js';

const CORPUS = new URL('../../../shared/corpus/sigmahq/', import.meta.url).pathname;

test('golden 4688s as hits: backing indices route; an index no pipeline covers and plain documents are reported per index', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-test-rule-'));
  try {
    const fx = windowsFixtures().filter((f) => f.file.includes('4688'));
    const lines = [
      ...fx.map((f) => JSON.stringify({ _index: backingIndex(f.stream), _id: f.file, _source: f.docs[0] })),
      JSON.stringify({ _index: 'custom-windows-2026.11.26', _id: 'c1', _source: fx[1].docs[0] }),
      JSON.stringify({ _index: 'custom-windows-2026.11.26', _id: 'c2', _source: fx[1].docs[0] }),
      JSON.stringify(fx[0].docs[0]),
    ];
    const events = join(dir, 'events.ndjson');
    await writeFile(events, `${lines.join('\n')}\n`);
    const res = await runCli(['test-rule', `${CORPUS}rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml`, '--events', events, '--now', '2026-11-26T00:00:00Z'], { LOOKOUT_RULES_DIR: REPO });
    assert.equal(res.code, 0, res.stderr);
    const alerts = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(alerts.map((a) => a._source['kibana.alert.ancestors'][0].id).sort(), fx.map((f) => f.file).sort());
    assert.match(res.stderr, /not evaluated: 2 event\(s\) from index custom-windows-2026\.11\.26: it fits none of the rule's field mapping pipelines\n/);
    assert.match(res.stderr, /not evaluated: 1 event\(s\) from index events: .*\(give the events as search hits with their _index\)\n/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
