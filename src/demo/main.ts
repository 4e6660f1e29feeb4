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
import { deleteIndices } from '../search/indices.js';
import { DEMO_INDICES, generateDataset } from './generate.js';
import { createEventIndex, indexEvents, installEventTemplate } from './load.js';

const ALERTS = 'lookout-alerts-demo';
/**
 * The listener sweep as Winlogbeat 8 writes it: a data stream (here its first backing index,
 * with the stream's name as the write alias, which is how such hits look) in the ECS layout its
 * security ingest pipeline produces (NewProcessName in process.executable, the 4624's IpAddress
 * and WorkstationName in source.*).
 */
const WLB8_STREAM = 'winlogbeat-8.15.0-lookout.demo';
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
    const backing = `.ds-${WLB8_STREAM}-${new Date().toISOString().slice(0, 10).replace(/-/g, '.')}-000001`;
    await deleteIndices(client, [...indices, `.ds-${WLB8_STREAM}-*`, ALERTS, STATE]);
    await installEventTemplate(client, 'lookout-demo-events', indices);
    await createEventIndex(client, backing, WLB8_STREAM);
    const now = Date.now();
    const data = generateDataset({ seed: 7, start: now - 8 * 60_000, end: now - 60_000, noiseEvents: 5000, attacks: 6, hosts: 40, idPrefix: 'demo' });
    // The reconnaissance of the Sigma rule: wsmprovhost.exe started on 34 computers within ten
    // minutes (Security 4688), and the network logon (4624) it came in through, in Winlogbeat 8's layout.
    const security = { channel: 'Security', provider_name: 'Microsoft-Windows-Security-Auditing' };
    const recon = Array.from({ length: 34 }, (_, i) => {
      const host = `srv${String(i).padStart(2, '0')}.corp.example`;
      return {
        index: WLB8_STREAM, id: `recon-${i}`,
        source: {
          '@timestamp': new Date(now - 9 * 60_000 + i * 10_000).toISOString(), ecs: { version: '8.17.0' },
          event: { action: 'created-process', category: ['process'], type: ['start'], code: '4688', kind: 'event', module: 'security', outcome: 'success' },
          host: { name: host },
          process: {
            executable: 'C:\\Windows\\System32\\wsmprovhost.exe', name: 'wsmprovhost.exe', pid: 4000 + i, command_line: 'C:\\Windows\\system32\\wsmprovhost.exe -Embedding',
            parent: { executable: 'C:\\Windows\\System32\\svchost.exe', name: 'svchost.exe' },
          },
          user: { name: `${host.slice(0, 5).toUpperCase()}$`, domain: 'CORP' },
          winlog: { ...security, event_id: '4688', computer_name: host, event_data: {
            CommandLine: 'C:\\Windows\\system32\\wsmprovhost.exe -Embedding', TargetUserName: 'eve', TargetDomainName: 'CORP', TargetLogonId: '0x7a3f1' } },
        },
      };
    });
    const logon = { index: WLB8_STREAM, id: 'recon-logon', source: {
      '@timestamp': new Date(now - 9 * 60_000 - 2000).toISOString(), ecs: { version: '8.17.0' },
      event: { action: 'logged-in', category: ['authentication'], type: ['start'], code: '4624', kind: 'event', module: 'security', outcome: 'success' },
      source: { ip: '10.0.5.66', domain: 'KALI' },
      winlog: { ...security, event_id: '4624', computer_name: 'srv00.corp.example', logon: { type: 'Network' }, event_data: { TargetLogonId: '0x7a3f1', TargetUserName: 'eve', TargetDomainName: 'CORP', LogonType: '3' } },
    } };
    await indexEvents(client, [...data.events, ...recon, logon]);
    out.write(`loaded ${data.events.length} events into ${indices.join(', ')}: noise, benign WinRM administration, ` +
      `loopback and conhost near-misses, ${data.attacks.length} planted WinRM remote-shell executions; ` +
      `and into the data stream ${WLB8_STREAM} (backing index ${backing}), in Winlogbeat 8's ECS layout, ` +
      `a WinRM listener sweep over 34 servers (Security 4688) with the logon (4624) it used\n\n`);

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
      out.write(`  ${String(e.rule_name).slice(0, 42).padEnd(43)} ${e.status.padEnd(9)} events read ${String(e.events_read).padStart(5)}  alerts written ${String(e.alerts_written).padStart(3)}  duplicates skipped ${String(e.duplicates_skipped).padStart(3)}  ${e.duration_ms} ms\n`);
    }
    const read = execs.hits.hits.find((h) => h._source?.rule_name === 'Incoming Execution via WinRM Remote Shell')?._source?.events_read ?? 0;
    out.write(`pushdown: the WinRM remote-shell rule fetched ${read} of the ${inWindow} events in its 9-minute window (${Math.round((1 - read / Math.max(1, inWindow)) * 100)}% left on the server)\n`);
    out.write(`\nalerts in ${ALERTS}:\n`);
    out.write(`  ${'time'.padEnd(24)} ${'severity'.padEnd(8)} risk  ${'host'.padEnd(24)} ${'source ip'.padEnd(11)} ${'user'.padEnd(9)} command\n`);
    for (const h of alerts.hits.hits) {
      const a = h._source!;
      const s = a.lookout.summary;
      if (a.lookout.correlation) {
        const c = a.lookout.correlation;
        const src = a.lookout.enrichment?.windows_logon_source?.logons?.[0];
        out.write(`  ${a['kibana.alert.original_time'].padEnd(24)} ${a['kibana.alert.severity'].padEnd(8)} ${String(a['kibana.alert.risk_score']).padEnd(5)} ` +
          `${a['kibana.alert.rule.name']}: ${c.value} computers in ${Math.round(c.timespanMs / 60_000)} min` +
          `${src ? `, from ${src.source_ip} (${src.workstation}) as ${src.user}` : ''}` +
          ` [events from ${[...new Set((a['kibana.alert.ancestors'] as { index: string }[]).map((x) => x.index))].join(', ')}]\n`);
        continue;
      }
      out.write(`  ${a['kibana.alert.original_time'].padEnd(24)} ${a['kibana.alert.severity'].padEnd(8)} ${String(a['kibana.alert.risk_score']).padEnd(5)} ${String(s.host).padEnd(24)} ${String(s.source_ip).padEnd(11)} ${String(s.user).padEnd(9)} ${s.command_line}\n`);
    }
    const found = new Set(alerts.hits.hits.map((h) => h._source!.host?.id));
    const missed = data.attacks.filter((a) => !found.has(a.hostId));
    // The sweep's alert must come from the Winlogbeat 8 backing index.
    const sweep = alerts.hits.hits.filter((h) => h._source!.lookout.correlation
      && (h._source!['kibana.alert.ancestors'] as { index: string }[]).every((x) => x.index === backing)).length;
    out.write(`\n${data.attacks.length - missed.length} of ${data.attacks.length} planted remote-shell executions alerted, ` +
      `${sweep} of 1 listener sweep; ${alerts.hits.hits.length} alert(s) in all.\n`);
    return first === 0 && second === 0 && missed.length === 0 && sweep === 1 ? 0 : 1;
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
