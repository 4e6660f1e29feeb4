/**
 * 10. The Sigma count rule over a fixed range beside ElastAlert2: `lookout backfill` of the shipped
 * rule (count(Computer) > 30 in 15m over 4688 events) and ElastAlert2's cardinality rule with the
 * same filter, over the same 12 hours of the same index (bench/sigma-data.ts: 400,350 events, ten
 * planted sweeps), each a whole process, after a warm-up of each, three interleaved rounds,
 * medians; the load average of the (shared) machine beside the figure.
 *
 * The peer is installed by the benchmark from PyPI (elastalert2 2.19.0, and pytz, which it imports
 * without declaring it) into a virtual environment under the bench data folder; without Python
 * or PyPI the figure says so and gives Lookout's alone. It runs as
 *   elastalert-test-rule --config config.yaml --start <from> --end <to> --alert winrm_recon.yaml
 * (one query for the range, the rule run and its alerts sent by `alert: debug` to the log, the
 * writeback documents printed rather than written, so no silence carries over between runs).
 * `elastalert --start --end` was tried first: it runs the rule on a scheduler thread while the
 * main loop exits as soon as the end time is behind it, so some runs query nothing. Its default
 * realert (1 minute of wall time) silences every match after the first alert of the run; that is
 * its behaviour as shipped, and the figure counts what it sends.
 */
import type { Client } from '@elastic/elasticsearch';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installAlertsTemplate } from '../src/alerts/writer.js';
import { ensureSigmaData, SIGMA_END, SIGMA_INDEX, SIGMA_START, sigmaSweeps } from './sigma-data.js';

const RULE = 'rules/sigma/win_security_winrm_listening_service_reconnaissance.yml';
const PEER = 'elastalert2==2.19.0';
const TIMEFRAME = 15 * 60_000;

interface Outcome {
  readonly secs: number;
  /** Times of the alerts sent. */
  readonly alerts: number[];
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', (err) => done({ code: -1, stdout, stderr: String(err) }));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A virtual environment with ElastAlert2, made once; undefined (with the reason) where it cannot be. */
async function peerBin(dir: string): Promise<{ bin?: string; reason?: string }> {
  const venv = resolve(dir, 'elastalert-venv');
  const bin = join(venv, 'bin');
  if (!existsSync(join(bin, 'python'))) {
    const made = await run('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) return { reason: `python3 -m venv failed: ${made.stderr.trim().split('\n').pop()}` };
  }
  const have = await run(join(bin, 'python'), ['-c', 'import elastalert.elastalert, importlib.metadata as m; print(m.version("elastalert2"))']);
  if (have.code === 0 && `elastalert2==${have.stdout.trim()}` === PEER) return { bin };
  const pip = await run(join(bin, 'python'), ['-m', 'pip', 'install', '-q', PEER, 'pytz']);
  if (pip.code !== 0) return { reason: `pip install ${PEER} failed: ${pip.stderr.trim().split('\n').pop()}` };
  return { bin };
}

/** The planted sweeps with an alert within the timeframe after them, as "n of 10". */
function sweepsFound(alerts: readonly number[]): string {
  const sweeps = sigmaSweeps();
  const found = sweeps.filter(([first, last]) => alerts.some((t) => t >= first && t <= last + TIMEFRAME)).length;
  const other = alerts.filter((t) => !sweeps.some(([first, last]) => t >= first && t <= last + TIMEFRAME)).length;
  return `${alerts.length} alerts, ${found} of ${sweeps.length} sweeps found${other > 0 ? `, ${other} elsewhere` : ''}`;
}

async function lookoutRun(client: Client, url: string, rulesDir: string): Promise<Outcome> {
  const alerts = 'lookout-bench-alerts-count';
  const state = 'lookout-bench-state-count';
  await client.indices.delete({ index: `${alerts},${state}`, ignore_unavailable: true });
  await installAlertsTemplate(client, alerts);
  const t = performance.now();
  const r = await run(process.execPath, ['bin/lookout.js', 'backfill', '--from', new Date(SIGMA_START).toISOString(), '--to', new Date(SIGMA_END + 1).toISOString()], {
    ELASTICSEARCH_URL: url, LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_ALERTS_INDEX: alerts, LOOKOUT_STATE_INDEX: state,
    LOOKOUT_LOG_LEVEL: 'warn', LOOKOUT_LOG_FORMAT: 'json', LOOKOUT_METRICS_PORT: '0',
  });
  const secs = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`lookout backfill exited ${r.code}: ${r.stderr.slice(-1000)}`);
  await client.indices.refresh({ index: alerts });
  const res = await client.search<Record<string, unknown>>({ index: alerts, size: 1000, _source: ['kibana.alert.original_time', '@timestamp'] });
  return { secs, alerts: res.hits.hits.map((h) => Date.parse(String(h._source?.['kibana.alert.original_time'] ?? h._source?.['@timestamp']))) };
}

async function peerRun(bin: string, dir: string): Promise<Outcome> {
  const t = performance.now();
  const r = await run(join(bin, 'elastalert-test-rule'), ['--config', 'config.yaml',
    '--start', new Date(SIGMA_START).toISOString(), '--end', new Date(SIGMA_END).toISOString(), '--alert', 'rules/winrm_recon.yaml'], {}, dir);
  const secs = (performance.now() - t) / 1000;
  const log = r.stdout + r.stderr;
  if (r.code !== 0 || !/num_matches: \d+/.test(log)) throw new Error(`elastalert-test-rule exited ${r.code}: ${log.slice(-1000)}`);
  const alerts = [...log.matchAll(/Alert for \S+ at (\S+?):?\s*$/gm)].map((m) => Date.parse(m[1]));
  return { secs, alerts };
}

async function peerSetup(url: string, dir: string): Promise<void> {
  const u = new URL(url);
  await mkdir(join(dir, 'rules'), { recursive: true });
  await writeFile(join(dir, 'config.yaml'), [
    `rules_folder: ${resolve(dir, 'rules')}`, 'run_every: {minutes: 5}', 'buffer_time: {hours: 12}',
    `es_host: ${u.hostname}`, `es_port: ${u.port || 9200}`, 'writeback_index: elastalert_bench',
    'alert_time_limit: {days: 3650}', 'old_query_limit: {days: 3650}', 'max_query_size: 10000', 'scroll_keepalive: 1m', '',
  ].join('\n'));
  // The Sigma rule's filter in ElastAlert's terms (the winlogbeat pipeline's fields).
  await writeFile(join(dir, 'rules', 'winrm_recon.yaml'), [
    'name: winrm-listening-service-reconnaissance', 'type: cardinality', `index: ${SIGMA_INDEX}`, 'timeframe: {minutes: 15}',
    'cardinality_field: winlog.computer_name', 'max_cardinality: 30', 'filter:',
    '- term: {winlog.channel: Security}', '- term: {winlog.event_id: 4688}',
    '- wildcard: {winlog.event_data.NewProcessName: "*\\\\wsmprovhost.exe"}',
    '- bool: {must_not: [{wildcard: {winlog.event_data.TargetUserName: "*$"}}]}', 'alert: debug', '',
  ].join('\n'));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function countRuleFigure(client: Client, url: string, dataDir: string, out: (s: string) => void): Promise<void> {
  const events = await ensureSigmaData(client, out);
  const dir = join(dataDir, 'bench-peers');
  await mkdir(dir, { recursive: true });
  const peer = await peerBin(dir);
  if (peer.bin) await peerSetup(url, dir);
  else out(`10. Sigma count rule: the peer (${PEER}) is missing (${peer.reason}); Lookout's figures alone`);
  const rulesDir = await mkdtemp(join(tmpdir(), 'lookout-bench-count-'));
  try {
    await writeFile(join(rulesDir, 'rule.yml'), await readFile(RULE, 'utf8'));
    const lookout: Outcome[] = [];
    const ea: Outcome[] = [];
    const loads: number[] = [];
    for (let round = 0; round < 4; round++) {
      const l = await lookoutRun(client, url, rulesDir);
      const p = peer.bin ? await peerRun(peer.bin, dir) : undefined;
      if (round === 0) continue; // warm-up
      lookout.push(l);
      if (p) ea.push(p);
      loads.push(loadavg()[0]);
    }
    const l = median(lookout.map((r) => r.secs));
    let line = `10. Sigma count rule over 12 h (${events.toLocaleString('en-US')} events in ${SIGMA_INDEX}), whole processes: ` +
      `lookout backfill ${l.toFixed(2)} s (${sweepsFound(lookout[0].alerts)})`;
    if (ea.length > 0) {
      const p = median(ea.map((r) => r.secs));
      line += `; ElastAlert2 2.19.0 cardinality rule ${p.toFixed(2)} s (${sweepsFound(ea[0].alerts)}); Lookout ${(l / p).toFixed(2)}x its time (target <= 0.5x)`;
    }
    out(`${line}; medians of 3 interleaved runs after a warm-up; load average ${loads.map((x) => x.toFixed(1)).join(', ')} (2 cores, shared)`);
  } finally {
    await rm(rulesDir, { recursive: true, force: true });
  }
}
