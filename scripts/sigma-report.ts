/**
 * The Sigma load report (docs/sigma-report.md): every Windows rule of SigmaHQ's corpus
 * (../shared/corpus/sigmahq: rules/windows, rules-emerging-threats, rules-threat-hunting),
 * loaded with the shipped field mapping pipelines, its pushed-down query run on the real
 * server, and the rule run in memory over generated Winlogbeat and Elastic Defend events.
 * Every rule either runs or is rejected with a precise reason. `npm run sigma-report`.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { MemoryAlertSink } from '../src/alerts/writer.js';
import { loadConfig } from '../src/config/env.js';
import { generateDataset } from '../src/demo/generate.js';
import type { EventRecord } from '../src/engine/events.js';
import { runRule } from '../src/engine/run.js';
import { loadRules } from '../src/rules/load.js';
import { createClient } from '../src/search/client.js';
import { fetchFieldTypes } from '../src/search/field-caps.js';
import { Pushdown } from '../src/search/pushdown.js';
import { loadPipelines } from '../src/sigma/pipeline.js';
import { layoutCoverage, LAYOUTS } from './sigma-layouts.js';
import { asSigma } from '../src/sigma/compiled.js';

const CORPUS = process.env.LOOKOUT_SIGMA_CORPUS ?? join(process.cwd(), '..', 'shared', 'corpus', 'sigmahq');
const INDEX = 'winlogbeat-lookout-sigma-report';

async function ymlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await ymlFiles(full)));
    else if (/\.ya?ml$/.test(e.name)) out.push(full);
  }
  return out;
}

interface Row { file: string; status: string; detail: string }

async function main(): Promise<void> {
  const roots = ['rules/windows', 'rules-emerging-threats', 'rules-threat-hunting/windows'].map((r) => join(CORPUS, r));
  const files = (await Promise.all(roots.map(ymlFiles))).flat().filter((f) => !f.includes('rules-emerging-threats') || /windows|win_/i.test(f)).sort();
  const pipelines = loadPipelines();
  const config = loadConfig(process.env);
  const client = createClient(config.elasticsearch);
  const rows: Row[] = [];
  const coverage = LAYOUTS.map(() => ({ runs: 0, resolves: 0, rawOnly: 0, unresolved: new Map<string, number>() }));
  // Generic events: Winlogbeat (Security/Sysmon-shaped) and Elastic Defend documents.
  const data = generateDataset({ seed: 5, start: 0, end: 3_600_000, noiseEvents: 400, attacks: 5, hosts: 20 });
  const events: EventRecord[] = data.events.map((e) => ({ index: e.index, id: e.id, timestamp: Date.parse(e.source['@timestamp'] as string), source: e.source }))
    .sort((a, b) => a.timestamp - b.timestamp);
  try {
    await client.indices.delete({ index: INDEX, ignore_unavailable: true });
    await client.indices.create({ index: INDEX, settings: { number_of_shards: 1, number_of_replicas: 0, 'index.mapping.total_fields.limit': 20_000 }, mappings: { dynamic_templates: [{ s: { match_mapping_type: 'string', mapping: { type: 'keyword' } } }] } } as never);
    await client.bulk({ refresh: true, operations: events.flatMap((e) => [{ index: { _index: INDEX, _id: e.id } }, e.source]) });
    for (const file of files) {
      const name = relative(CORPUS, file);
      const set = await loadRules([file], { sigmaPipelines: pipelines });
      if (set.errors.length > 0) {
        rows.push({ file: name, status: 'rejected', detail: set.errors.map((e) => e.message.slice(file.length + 1)).join('; ') });
        continue;
      }
      if (set.rules.length === 0) {
        rows.push({ file: name, status: 'rejected', detail: set.skipped.map((s) => s.reason).join('; ') || 'no rule in file' });
        continue;
      }
      for (const rule of set.rules) {
        LAYOUTS.forEach((layout, i) => {
          const c = layoutCoverage(rule, layout);
          if (c.runs) coverage[i].runs++;
          if (c.resolves) coverage[i].resolves++;
          for (const f of c.unresolved) coverage[i].unresolved.set(f, (coverage[i].unresolved.get(f) ?? 0) + 1);
          if (layoutCoverage(rule, layout, true).resolves) coverage[i].rawOnly++;
        });
        try {
          const r = { ...rule, indices: [INDEX] };
          const types = await fetchFieldTypes(client, r.indices, r.compiled.fields);
          const query = r.compiled.plan === 'streamed' ? r.compiled.pushdown(new Pushdown(types)) : null;
          await client.search({ index: INDEX, size: 0, query: (query ?? { match_all: {} }) as never });
          const counts = await runRule({ ...rule, enrichments: [] }, events, new MemoryAlertSink(), { now: new Date(0) });
          const routes = asSigma(rule.compiled)?.routes.map((x) => x.pipeline).join(', ') ?? '';
          rows.push({ file: name, status: 'runs', detail: `pipelines: ${routes}; ${counts.matches} match(es) on the generic events` });
        } catch (err) {
          rows.push({ file: name, status: 'failed', detail: err instanceof Error ? err.message.split('\n')[0] : String(err) });
        }
      }
    }
  } finally {
    await client.indices.delete({ index: INDEX, ignore_unavailable: true }).catch(() => undefined);
    await client.close();
  }
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const reasons = new Map<string, number>();
  for (const r of rows.filter((x) => x.status === 'rejected')) {
    const key = r.detail.replace(/'[^']*'/g, "'…'").replace(/"[^"]*"/g, '"…"').replace(/\d+:\d+: /, '').replace(/detection\.[^:]+: /, 'detection.…: ').slice(0, 140);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const lines = [
    '# Sigma load report',
    '',
    `Generated by \`npm run sigma-report\` (scripts/sigma-report.ts) on ${new Date().toISOString().slice(0, 10)} from SigmaHQ's`,
    'Windows rules in `../shared/corpus/sigmahq` (rules/windows, rules-threat-hunting/windows and the Windows rules of',
    'rules-emerging-threats), with the shipped pipelines in `mappings/sigma`. Do not edit by hand.',
    '',
    '- runs: loaded; its pushed-down query was accepted and run by the real server; it ran in memory over',
    '  generated Winlogbeat and Elastic Defend events without error.',
    '- rejected: not run, with the reason (a logsource no pipeline maps, a field with no ECS mapping, ...).',
    '- failed: loaded but an error while running (a bug: the target is zero).',
    '',
    '| | count |',
    '|---|---|',
    `| rule files | ${rows.length} |`,
    `| runs | ${count('runs')} |`,
    `| rejected with a reason | ${count('rejected')} |`,
    `| failed | ${count('failed')} |`,
    '',
    '## Per data layout',
    '',
    'How many of the rules that run have every field they use resolvable in each layout: some candidate of',
    'each field (mappings/sigma; tried in order per event) is a field that layout writes. Winlogbeat 8 and',
    'Elastic Agent move many event data fields to ECS fields and drop others (scripts/sigma-layouts.ts lists',
    'them, from their ingest pipelines); the last column counts the rules that would resolve with the event',
    'data field alone, as the mapping was before candidates.',
    '',
    '| layout | pipeline | rules that run there | every field resolvable | with the event data field alone |',
    '|---|---|---|---|---|',
    ...LAYOUTS.map((l, i) => `| ${l.name} | ${l.pipeline} | ${coverage[i].runs} | ${coverage[i].resolves} | ${coverage[i].rawOnly} |`),
    '',
    'Elastic Defend runs only the rules whose every field has an ECS counterpart (mappings/sigma/windows-ecs.json):',
    'the others are not run there, so all that run resolve. For the pipelines\' layouts a resolvable field',
    'can still differ in form: registry `Details` of QWORD values are written as numbers the pipeline',
    'computed (DWORD values are printed back as Sysmon writes them), and DNS `QueryStatus` and Sysmon',
    '`Initiated` are translated back only for the values listed in the mapping.',
    '',
    'Fields that do not resolve, by layout (rules):',
    '',
    ...LAYOUTS.map((l, i) => `- ${l.name}: ${coverage[i].unresolved.size === 0 ? 'none' : [...coverage[i].unresolved].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} (${n})`).join(', ')}`),
    '',
    '## Reasons for rejection',
    '',
    '| reason | rules |',
    '|---|---|',
    ...[...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${v} |`),
    '',
    '## Every rule',
    '',
    '| rule | status | detail |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.file} | ${r.status} | ${r.detail.replace(/\|/g, '\\|')} |`),
    '',
  ];
  await writeFile('docs/sigma-report.md', lines.join('\n'));
  process.stdout.write(lines.slice(11, 17).join('\n') + '\n');
  if (count('failed') > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`sigma report failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
