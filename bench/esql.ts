/**
 * 9. An ES|QL STATS rule over a day of the benchmark data (BENCH_SCALES): Lookout reads the FROM
 * indices with the pushed-down leading WHERE and aggregates in memory (the same on every server
 * version). One execution over the whole day: wall time, events read and their rate, STATS groups
 * held, peak RSS of the process, and the machine's load average (the machine may be shared). The
 * figure counts only if the rows are the hosts the server's own aggregation finds (printed ✔/✘).
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import type { Client } from '@elastic/elasticsearch';
import { loadElasticToml } from '../src/rules/elastic-toml.js';
import { executeRule, type ExecuteDeps } from '../src/scheduler/execute.js';
import type { BenchData } from './data.js';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function esqlStatsRuleText(pattern: string): string {
  return `[rule]
rule_id = "bench-esql-stats"
name = "Hosts with WinRM shell children (ES|QL STATS)"
description = "Process starts per host, with the children of winrshost.exe counted apart."
type = "esql"
language = "esql"
query = '''
FROM ${pattern}
| WHERE event.category == "process"
| STATS events = COUNT(*), processes = COUNT_DISTINCT(process.name), winrs = COUNT(*) WHERE process.parent.name == "winrshost.exe" BY host.name
| WHERE winrs > 0
| LIMIT 10000
'''
from = "now-24h"
interval = "24h"
max_signals = 10000
risk_score = 21
severity = "low"
`;
}

export async function esqlStatsFigure(deps: ExecuteDeps, data: BenchData, out: (s: string) => void): Promise<void> {
  const loaded = loadElasticToml('bench-esql-stats.toml', esqlStatsRuleText(data.pattern));
  if (!('rule' in loaded)) throw new Error(`the ES|QL bench rule was skipped: ${loaded.skipped.reason}`);
  const rule = loaded.rule;
  const expected = await serverHosts(deps.client, data);
  const before = loadavg();
  const t = performance.now();
  const { record } = await executeRule(deps, rule, { start: data.start, end: data.end + 1 }, 'once');
  const secs = (performance.now() - t) / 1000;
  const after = loadavg();
  const ok = record.status === 'succeeded' && record.matches === expected;
  out(`9. ES|QL STATS rule (WHERE event.category == "process" | STATS COUNT, COUNT_DISTINCT, COUNT WHERE BY host.name | WHERE | LIMIT 10000), one execution over the day: ` +
    `${secs.toFixed(1)} s wall, ${fmt(record.eventsRead)} events read after pushdown = ${fmt(record.eventsRead / secs)} events/s, ${fmt(record.groups ?? 0)} groups held, ` +
    `${fmt(record.matches)} rows (server's aggregation: ${fmt(expected)} hosts) ${ok ? '✔' : `✘ ${record.error ?? ''}`}; ` +
    `peak RSS ${fmt(process.resourceUsage().maxRSS / 1024)} MB; load average ${before[0].toFixed(2)} before, ${after[0].toFixed(2)} after (1 min)`);
}

/** The hosts with a process whose parent is winrshost.exe, by the server's aggregation (exact below 40,000 terms). */
async function serverHosts(client: Client, data: BenchData): Promise<number> {
  const res = await client.search({
    index: data.pattern, size: 0,
    query: { bool: { filter: [{ term: { 'event.category': 'process' } }, { term: { 'process.parent.name': 'winrshost.exe' } }, { range: { '@timestamp': { gte: data.start, lte: data.end, format: 'epoch_millis' } } }] } },
    aggs: { hosts: { cardinality: { field: 'host.name', precision_threshold: 40_000 } } },
  });
  return (res.aggregations as { hosts: { value: number } }).hosts.value;
}
