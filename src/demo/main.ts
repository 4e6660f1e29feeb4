/**
 * The demo: loads a realistic data set into Elasticsearch (benign WinRM administration, noise,
 * and planted WinRM remote-shell executions from the last few minutes), runs `lookout run
 * --once` twice (the second finds the same sequences and writes nothing new), and prints the
 * alerts. `npm run demo` starts the development Elasticsearch first when ELASTICSEARCH_URL is
 * not set.
 */
import { main } from '../cli/main.js';
import { loadConfig, withDotEnv } from '../config/env.js';
import { createClient } from '../search/client.js';
import { DEMO_INDICES, generateDataset } from './generate.js';
import { indexEvents, installEventTemplate } from './load.js';

const ALERTS = 'lookout-alerts-demo';
const STATE = 'lookout-executions-demo';

async function demo(): Promise<number> {
  const base = withDotEnv(process.env);
  const env = { LOOKOUT_LOG_FORMAT: 'pretty', ...base, LOOKOUT_ALERTS_INDEX: ALERTS, LOOKOUT_STATE_INDEX: STATE };
  const config = loadConfig(env);
  const client = createClient(config.elasticsearch);
  const out = process.stdout;
  try {
    const info = await client.info();
    out.write(`Elasticsearch ${info.version.number} at ${config.elasticsearch.url.replace(/\/\/[^@/]*@/, '//***@')}\n`);
    const indices = Object.values(DEMO_INDICES);
    await client.indices.delete({ index: [...indices, ALERTS, STATE].join(','), ignore_unavailable: true });
    await installEventTemplate(client, 'lookout-demo-events', indices);
    const now = Date.now();
    const data = generateDataset({ seed: 7, start: now - 8 * 60_000, end: now - 60_000, noiseEvents: 5000, attacks: 6, hosts: 40, idPrefix: 'demo' });
    await indexEvents(client, data.events);
    out.write(`loaded ${data.events.length} events into ${indices.join(', ')}: noise, benign WinRM administration, ` +
      `loopback and conhost near-misses, and ${data.attacks.length} planted WinRM remote-shell executions\n\n`);

    const io = { stdout: process.stdout, stderr: process.stderr, env };
    out.write('$ lookout run --once\n');
    const first = await main(['run', '--once'], io);
    out.write('\n$ lookout run --once   (again: same window, nothing new)\n');
    const second = await main(['run', '--once'], io);

    await client.indices.refresh({ index: `${ALERTS},${STATE}` });
    const inWindow = (await client.count({ index: indices.join(','), query: { range: { '@timestamp': { gte: `now-9m` } } } })).count;
    const alerts = await client.search<Record<string, any>>({ index: ALERTS, size: 100, sort: [{ 'kibana.alert.original_time': 'asc' }] as never });
    const execs = await client.search<Record<string, any>>({ index: STATE, size: 10, query: { term: { doc_type: 'execution' } }, sort: [{ started_at: 'asc' }] as never });
    out.write(`\nexecutions recorded in ${STATE}:\n`);
    for (const h of execs.hits.hits) {
      const e = h._source!;
      out.write(`  ${e.status.padEnd(9)} events read ${String(e.events_read).padStart(5)}  alerts written ${String(e.alerts_written).padStart(3)}  duplicates skipped ${String(e.duplicates_skipped).padStart(3)}  ${e.duration_ms} ms\n`);
    }
    const read = execs.hits.hits[0]?._source?.events_read ?? 0;
    out.write(`pushdown: ${read} of the ${inWindow} events in the 9-minute window were fetched (${Math.round((1 - read / Math.max(1, inWindow)) * 100)}% left on the server)\n`);
    out.write(`\nalerts in ${ALERTS}:\n`);
    out.write(`  ${'time'.padEnd(24)} ${'severity'.padEnd(8)} risk  ${'host'.padEnd(24)} ${'source ip'.padEnd(11)} ${'user'.padEnd(9)} command\n`);
    for (const h of alerts.hits.hits) {
      const a = h._source!;
      const s = a.lookout.summary;
      out.write(`  ${a['kibana.alert.original_time'].padEnd(24)} ${a['kibana.alert.severity'].padEnd(8)} ${String(a['kibana.alert.risk_score']).padEnd(5)} ${String(s.host).padEnd(24)} ${String(s.source_ip).padEnd(11)} ${String(s.user).padEnd(9)} ${s.command_line}\n`);
    }
    const found = new Set(alerts.hits.hits.map((h) => h._source!.host?.id));
    const missed = data.attacks.filter((a) => !found.has(a.hostId));
    out.write(`\n${data.attacks.length - missed.length} of ${data.attacks.length} planted attacks alerted; ${alerts.hits.hits.length} alert(s) in all.\n`);
    return first === 0 && second === 0 && missed.length === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

demo().then((code) => {
  process.exitCode = code;
}, (err) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
