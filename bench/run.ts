/**
 * Benchmarks (npm run bench). Prints figures; asserts nothing about time. Each figure counts
 * only if the planted attacks were all found, which is checked and printed.
 *
 * 1. In-memory evaluation of the WinRM sequence: events per second on one core.
 * 2. Adversarial wildcard: `*a*a*a*a*b` against a 100 kB string.
 * 3. One scheduled execution (9-minute window) over an index of BENCH_EVENTS generated events
 *    (default 1,000,000 over 24 hours): wall time, documents in the window, documents fetched.
 * 4. One execution over the whole range (a day in one window): events per second read and
 *    evaluated, against a bare paged export of the same documents with the same client.
 */
import { performance } from 'node:perf_hooks';
import { ElasticAlertSink, installAlertsTemplate, MemoryAlertSink } from '../src/alerts/writer.js';
import { loadConfig } from '../src/config/env.js';
import { generateDataset, type EventIndices } from '../src/demo/generate.js';
import { indexEvents } from '../src/demo/load.js';
import { readMapping } from '../src/config/mappings.js';
import type { EventRecord } from '../src/engine/events.js';
import { runRule } from '../src/engine/run.js';
import { compileWildcard } from '../src/eql/wildcard.js';
import { silentLogger } from '../src/logging/logger.js';
import { loadRules } from '../src/rules/load.js';
import { createClient } from '../src/search/client.js';
import { executeRule } from '../src/scheduler/execute.js';
import { StateStore } from '../src/state/store.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const set = await loadRules(['rules/windows/lateral_movement_incoming_winrm_shell_execution.toml']);
  const shipped = set.rules[0];
  const total = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const attacks = 60;
  out(`Lookout benchmarks: node ${process.version}, ${new Date().toISOString()}`);

  // 1. In-memory evaluation.
  {
    const data = generateDataset({ seed: 1, start: 0, end: 24 * 3_600_000, noiseEvents: 500_000, attacks, hosts: 2000 });
    const events: EventRecord[] = data.events
      .map((e) => ({ index: e.index, id: e.id, timestamp: Date.parse(e.source['@timestamp'] as string), source: e.source }))
      .sort((a, b) => a.timestamp - b.timestamp);
    const sink = new MemoryAlertSink();
    const rule = { ...shipped, maxSignals: 10_000 };
    await runRule(rule, events.slice(0, 50_000), new MemoryAlertSink(), { now: new Date() }); // warm-up
    const before = process.memoryUsage().heapUsed;
    const t = performance.now();
    const counts = await runRule(rule, events, sink, { now: new Date() });
    const secs = (performance.now() - t) / 1000;
    const found = new Set(sink.alerts.map((a) => (a.doc.host as { id: string }).id));
    const ok = data.attacks.every((a) => found.has(a.hostId));
    out(`\n1. in-memory evaluation, WinRM sequence: ${fmt(events.length)} events in ${secs.toFixed(2)} s = ${fmt(events.length / secs)} events/s on one core` +
      ` (${counts.matches} matches; planted ${data.attacks.length}, found ${ok ? 'all' : 'NOT ALL'}); heap growth ${fmt((process.memoryUsage().heapUsed - before) / 1e6)} MB`);
  }

  // 2. Wildcards.
  {
    const text = 'a'.repeat(100_000);
    const runs = 100;
    const figures = [['*a*a*a*a*b', text], ['*a*a*a*a*b*', text], ['*?a?*a?*a?*b*', text], ['*a*a*a*a*b', `${text}b`]].map(([pattern, subject]) => {
      const m = compileWildcard(pattern);
      const t = performance.now();
      let result = false;
      for (let i = 0; i < runs; i++) result = m(subject);
      return `${pattern} on ${subject.length === text.length ? '100 kB of a' : '100 kB of a then b'}: ${((performance.now() - t) / runs).toFixed(3)} ms (${result})`;
    });
    out(`\n2. wildcards, time per match: ${figures.join('; ')}`);
  }

  // 3 and 4. Against Elasticsearch.
  const config = loadConfig({ ...process.env, LOOKOUT_ALERTS_INDEX: 'lookout-bench-alerts', LOOKOUT_STATE_INDEX: 'lookout-bench-state' });
  const client = createClient(config.elasticsearch);
  try {
    const info = await client.info();
    const indices: EventIndices = { defendNetwork: 'logs-endpoint.events.network-bench', defendProcess: 'logs-endpoint.events.process-bench', winlogbeat: 'winlogbeat-bench' };
    const pattern = Object.values(indices).join(',');
    const end = Date.parse('2026-11-01T00:00:00Z');
    const start = end - 24 * 3_600_000;
    const noise = total - attacks * 3;
    const data = generateDataset({ seed: 2, start, end, noiseEvents: Math.round(noise / 1.1), attacks, hosts: 5000, idPrefix: 'b', indices });
    const have = await client.count({ index: pattern, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
    if (have !== data.events.length) {
      await client.indices.delete({ index: pattern, ignore_unavailable: true });
      await client.indices.putIndexTemplate({ name: 'lookout-bench-events', index_patterns: Object.values(indices), priority: 400, template: { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' }, mappings: (readMapping('ecs-events-template.json').template as { mappings: unknown }).mappings as never } } as never);
      const t = performance.now();
      await indexEvents(client, data.events, { chunk: 10_000 });
      await client.indices.forcemerge({ index: pattern, max_num_segments: 1 });
      out(`\n(indexed ${fmt(data.events.length)} events in ${((performance.now() - t) / 1000).toFixed(0)} s; kept for the next run)`);
    }
    await client.indices.delete({ index: 'lookout-bench-alerts,lookout-bench-state', ignore_unavailable: true });
    await installAlertsTemplate(client, config.alertsIndex);
    const store = new StateStore(client, config.stateIndex);
    await store.install();
    const deps = { client, sink: new ElasticAlertSink(client, config.alertsIndex), store, logger: silentLogger(), pageSize: config.pageSize, readMode: config.readMode };
    const rule = { ...shipped, maxSignals: 10_000 };
    out(`\nElasticsearch ${info.version.number}, ${fmt(data.events.length)} events over 24 h in ${pattern}`);

    // 3. A scheduled window: the last 9 minutes (the data's end is the "now").
    const w = { start: end - 9 * 60_000, end };
    const inWindow = (await client.count({ index: pattern, query: { range: { '@timestamp': { gte: w.start, lte: w.end, format: 'epoch_millis' } } } })).count;
    await executeRule(deps, rule, w, 'once'); // warm-up (caches, JIT)
    const runs = 5;
    const times: number[] = [];
    let fetched = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await executeRule(deps, rule, w, 'once');
      times.push(performance.now() - t);
      fetched = r.record.eventsRead;
    }
    times.sort((a, b) => a - b);
    out(`\n3. one scheduled execution (9-minute window): median ${times[Math.floor(runs / 2)].toFixed(0)} ms wall (min ${times[0].toFixed(0)}, max ${times[runs - 1].toFixed(0)});` +
      ` ${fmt(inWindow)} documents in the window, ${fmt(fetched)} fetched after pushdown (${((1 - fetched / Math.max(1, inWindow)) * 100).toFixed(0)}% not transferred)`);

    // 4. The whole day in one window, against a bare export.
    await client.indices.delete({ index: config.alertsIndex });
    await installAlertsTemplate(client, config.alertsIndex);
    let t = performance.now();
    const full = await executeRule(deps, rule, { start, end }, 'once');
    const fullSecs = (performance.now() - t) / 1000;
    await client.indices.refresh({ index: config.alertsIndex });
    const alertHosts = await client.search<{ host: { id: string } }>({ index: config.alertsIndex, size: 10_000, _source: ['host.id'] });
    const foundHosts = new Set(alertHosts.hits.hits.map((h) => h._source?.host.id));
    const allFound = data.attacks.every((a) => foundHosts.has(a.hostId));
    const alerts = full.record.alertsWritten;
    t = performance.now();
    let exported = 0;
    let after: unknown[] | undefined;
    const pit = await client.openPointInTime({ index: pattern, keep_alive: '2m' });
    for (;;) {
      const res = await client.search({ pit: { id: pit.id, keep_alive: '2m' }, size: config.pageSize, sort: [{ '@timestamp': 'asc' }, { _shard_doc: 'asc' }] as never, search_after: after as never, track_total_hits: false });
      exported += res.hits.hits.length;
      if (res.hits.hits.length < config.pageSize) break;
      after = res.hits.hits[res.hits.hits.length - 1].sort;
    }
    await client.closePointInTime({ id: pit.id });
    const exportSecs = (performance.now() - t) / 1000;
    out(`\n4. one execution over the whole day: ${fullSecs.toFixed(1)} s, ${fmt(full.record.eventsRead)} events fetched after pushdown` +
      ` (${fmt(full.record.eventsRead / fullSecs)}/s), ${alerts} alerts (planted ${attacks}: ${allFound ? 'all found' : 'NOT ALL FOUND'});` +
      ` bare paged export of all ${fmt(exported)} documents: ${exportSecs.toFixed(1)} s (${fmt(exported / exportSecs)}/s)`);
    // 5. N rules over the same indices: separate executions against one shared read.
    {
      const { compileEql } = await import('../src/eql/compile.js');
      const { executeRules } = await import('../src/scheduler/execute.js');
      const variants = ['cmd.exe', 'powershell.exe', 'whoami.exe', 'net.exe', 'ipconfig.exe'];
      const make = (n: number) => Array.from({ length: n }, (_, i) => {
        if (i === 0) return rule;
        const q = rule.query.replace('process.parent.name : "winrshost.exe"', `process.parent.name : "winrshost.exe" and process.name : "${variants[i % variants.length]}"`);
        return { ...rule, ruleId: `bench-${i}`, query: q, compiled: compileEql(q) };
      });
      const timeIt = async (f: () => Promise<unknown>) => {
        const t0 = performance.now();
        await f();
        return performance.now() - t0;
      };
      const one = await timeIt(() => executeRule(deps, rule, w, 'once'));
      const rows: string[] = [];
      for (const n of [10, 50]) {
        const rules = make(n);
        const separate = await timeIt(async () => {
          for (const r of rules) await executeRule(deps, r, w, 'once');
        });
        const shared = await timeIt(() => executeRules(deps, rules, w, 'once'));
        rows.push(`${n} rules: separate ${separate.toFixed(0)} ms (${(separate / one).toFixed(1)}x one rule), shared read ${shared.toFixed(0)} ms (${(shared / one).toFixed(1)}x)`);
      }
      out(`\n5. many rules over the same indices (9-minute window): one rule ${one.toFixed(0)} ms; ${rows.join('; ')}`);
    }

    out(`\npeak RSS of this process: ${fmt(process.resourceUsage().maxRSS / 1024)} MB (includes figure 1's ${fmt(555_000)} events held in memory)`);
  } finally {
    await client.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
