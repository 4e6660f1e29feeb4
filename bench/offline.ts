/**
 * 6. Offline evaluation beside a peer: `lookout test-rule` and Endgame's Python `eql` 1.0.1 over
 * the same NDJSON file, the bench day's first 12 hours and the whole day, in time order. The peer
 * is installed by the benchmark from PyPI into a virtual environment under the bench data
 * folder; without Python or PyPI the figure says so and gives Lookout's alone.
 *
 * The file is the same for both: each document also carries the two keys the Python engine
 * reads (`event_type`, `timestamp` in ms), which Lookout ignores. The peer runs the WinRM rule in
 * its dialect: `:` becomes `==`/`in` (its string comparisons ignore case), the `?` wildcard
 * becomes `*` (its wildcard knows only `*`), and `event.type == "start"` is left out (it cannot
 * compare an ECS array; every process event of this data is a start). Runs are interleaved
 * (Lookout, peer, three rounds); the median wall time and the peak RSS of each are printed, with
 * the planted attacks each found.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateDataset, type PlantedAttack } from '../src/demo/generate.js';
import { benchIndices, benchOptions } from './data.js';
import { plantedFound } from './memory.js';

const RULE = 'rules/windows/lateral_movement_incoming_winrm_shell_execution.toml';
const PEER_VERSION = '1.0.1';
const PEER_QUERY = `sequence by host.id with maxspan=30s
  [network where host.os.type == "windows" and process.pid == 4 and network.direction in ("incoming", "ingress") and
   destination.port in (5985, 5986) and source.ip != "127.0.0.1" and source.ip != "::1"]
  [process where host.os.type == "windows" and process.parent.name == "winrshost.exe" and
   not wildcard(process.executable, "*:\\\\Windows\\\\System32\\\\conhost.exe")]`;

interface Run {
  readonly secs: number;
  readonly maxRssKb: number;
  readonly cpuSecs: number;
  readonly hostIds: string[];
  readonly matches: number;
}

/** The offline file of the first `hours` of the bench day, written once and kept. */
async function offlineFile(dir: string, total: number, hours: number): Promise<{ path: string; events: number; attacks: PlantedAttack[] }> {
  const o = benchOptions(total, benchIndices(total));
  const end = o.start + hours * 3_600_000;
  const data = generateDataset(o);
  const events = data.events
    .map((e) => ({ e, t: Date.parse(String(e.source['@timestamp'])) }))
    .filter((x) => x.t < end)
    .sort((a, b) => a.t - b.t);
  const hosts = new Set(events.map((x) => (x.e.source.host as { id: string }).id));
  const attacks = data.attacks.filter((a) => hosts.has(a.hostId));
  const path = join(dir, `offline-${total}-${hours}h.ndjson`);
  if (!existsSync(path)) {
    const tmp = `${path}.tmp`;
    const out = createWriteStream(tmp);
    for (const { e, t } of events) {
      const category = (e.source.event as { category?: string[] } | undefined)?.category?.[0];
      if (!out.write(`${JSON.stringify({ ...e.source, event_type: category, timestamp: t })}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    await rename(tmp, path);
  }
  return { path, events: events.length, attacks };
}

/** A virtual environment with the peer, made once; undefined (with the reason) where it cannot be. */
async function peerPython(dir: string): Promise<{ python?: string; reason?: string }> {
  const venv = join(dir, 'peers-venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    const made = await run('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) return { reason: `python3 -m venv failed: ${made.stderr.trim().split('\n').pop()}` };
  }
  const have = await run(python, ['-c', 'import eql; print(eql.__version__)']);
  if (have.code === 0 && have.stdout.trim() === PEER_VERSION) return { python };
  const pip = await run(python, ['-m', 'pip', 'install', '-q', `eql==${PEER_VERSION}`]);
  if (pip.code !== 0) return { reason: `pip install eql==${PEER_VERSION} failed: ${pip.stderr.trim().split('\n').pop()}` };
  return { python };
}

function run(cmd: string, args: string[], onLine?: (line: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let rest = '';
    child.stdout.on('data', (d) => {
      if (!onLine) {
        stdout += String(d);
        return;
      }
      const lines = (rest + String(d)).split('\n');
      rest = lines.pop()!;
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: String(err) }));
    child.on('close', (code) => {
      if (onLine && rest) onLine(rest);
      resolve({ code, stdout, stderr });
    });
  });
}

async function timed(cmd: string, args: string[], hostsOf: (line: string) => string[], rssPattern: RegExp, cpuPattern: RegExp): Promise<Run> {
  const hostIds: string[] = [];
  let lines = 0;
  const t = performance.now();
  const r = await run(cmd, args, (line) => {
    if (!line) return;
    lines++;
    hostIds.push(...hostsOf(line));
  });
  const secs = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${r.code}: ${r.stderr.slice(-1000)}`);
  const m = rssPattern.exec(r.stderr);
  const c = cpuPattern.exec(r.stderr);
  return { secs, maxRssKb: m ? Number(m[1]) : Number.NaN, cpuSecs: c ? Number(c[1]) : Number.NaN, hostIds, matches: lines };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function offlineFigure(dataDir: string, out: (s: string) => void): Promise<void> {
  const dir = join(dataDir, 'offline');
  await mkdir(dir, { recursive: true });
  const peer = await peerPython(dir);
  if (!peer.python) out(`6. offline evaluation: the peer (Python eql ${PEER_VERSION}) is missing (${peer.reason}); Lookout's figures alone`);
  for (const hours of [12, 24]) {
    const file = await offlineFile(dir, 1_000_000, hours);
    const mb = (await stat(file.path)).size / 1e6;
    const lookout: Run[] = [];
    const python: Run[] = [];
    const loadBefore = loadavg()[0];
    for (let round = 0; round < 3; round++) {
      lookout.push(await timed(process.execPath, ['--import', './bench/rss.mjs', 'bin/lookout.js', 'test-rule', RULE, '--events', file.path],
        (l) => [JSON.parse(l)._source.host.id], /LOOKOUT_BENCH_MAX_RSS_KB (\d+)/, /LOOKOUT_BENCH_CPU_S ([\d.]+)/));
      if (peer.python) {
        const cfg = join(dir, 'eql-config.json');
        if (!existsSync(cfg)) await import('node:fs/promises').then((fs) => fs.writeFile(cfg, JSON.stringify({ time_unit: 1000 })));
        python.push(await timed(peer.python, ['bench/peers/run_python_eql.py', 'query', '-c', cfg, '-f', file.path, '--format', 'jsonl', PEER_QUERY],
          (l) => [JSON.parse(l).host.id], /PEER_MAX_RSS_KB (\d+)/, /PEER_CPU_S ([\d.]+)/));
      }
    }
    const l = median(lookout.map((r) => r.secs));
    const lm = Math.max(...lookout.map((r) => r.maxRssKb)) / 1024;
    let line = `6. offline evaluation, ${hours} h (${file.events.toLocaleString('en-US')} events, ${mb.toFixed(0)} MB NDJSON), WinRM rule: ` +
      `lookout test-rule ${l.toFixed(2)} s, peak ${lm.toFixed(0)} MB, ${lookout[0].matches} alerts, planted ${file.attacks.length}: ${plantedFound(file.attacks, lookout[0].hostIds)}`;
    if (python.length > 0) {
      const p = median(python.map((r) => r.secs));
      const pm = Math.max(...python.map((r) => r.maxRssKb)) / 1024;
      const lc = median(lookout.map((r) => r.cpuSecs));
      const pc = median(python.map((r) => r.cpuSecs));
      line += `; Python eql ${PEER_VERSION} ${p.toFixed(2)} s, peak ${pm.toFixed(0)} MB, ${python[0].matches / 2} sequences, ${plantedFound(file.attacks, python[0].hostIds)}` +
        `; Lookout ${(p / l).toFixed(1)}x faster (target >= 10x); CPU time (user + system) ${lc.toFixed(2)} s against ${pc.toFixed(2)} s, ${(pc / lc).toFixed(1)}x`;
    }
    out(`${line}; medians of 3 interleaved runs; Lookout's runs ${lookout.map((r) => r.secs.toFixed(2)).join(', ')} s` +
      `${python.length > 0 ? `, the peer's ${python.map((r) => r.secs.toFixed(2)).join(', ')} s` : ''}; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (2 cores)`);
  }
}
