/**
 * 7. Start-up: the wall time of a whole `lookout` process, from spawn to exit, for `lookout
 * validate` of the shipped rules (LOOKOUT_RULES_DIR unset: rules/) and `lookout --help`, beside
 * `node -e 0` (Node's own start, the floor under any command). Each command loads only the
 * modules it uses (src/cli/main.ts), so these two load neither the Elasticsearch client nor
 * winston nor prom-client. After BENCH_STARTUP_WARMUP runs of each (default 2: the file cache),
 * BENCH_STARTUP_RUNS rounds (default 15) run the three interleaved; the median is printed with
 * the spread (fastest to slowest) and the 1-minute load average, since other processes on the
 * machine stretch wall times; beside it the median CPU time (user + system) of the process,
 * which they stretch much less (Linux: the children's times in /proc/self/stat, in clock ticks
 * of 10 ms). `validate` counts only if it exits 0 having validated every shipped rule.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const TARGET_SECS = 0.3;

interface Command {
  readonly label: string;
  readonly args: string[];
  /** Throws unless the run did what the figure claims. */
  readonly check: (code: number | null, stdout: string) => void;
}

function shippedRuleCount(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(toml|ya?ml|ndjson)$/.test(entry.name)) n++;
  }
  return n;
}

/** CPU seconds of the waited-for children so far (cutime + cstime), or undefined off Linux. */
function childCpuSecs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces): state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function timedRun(c: Command, env: NodeJS.ProcessEnv): { wall: number; cpu: number | undefined } {
  const cpu = childCpuSecs();
  const t = performance.now();
  const r = spawnSync(process.execPath, c.args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = (performance.now() - t) / 1000;
  const cpuAfter = childCpuSecs();
  if (r.error) throw r.error;
  c.check(r.status, r.stdout);
  return { wall, cpu: cpu === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (x: number) => `${x.toFixed(3)} s`;

export function startupFigure(out: (s: string) => void): void {
  const rules = shippedRuleCount(join(process.cwd(), 'rules'));
  const env = { ...process.env };
  delete env.LOOKOUT_RULES_DIR;
  const commands: Command[] = [
    {
      label: `lookout validate (${rules} shipped rules)`,
      args: ['bin/lookout.js', 'validate'],
      check: (code, stdout) => {
        if (code !== 0 || !stdout.includes(`${rules} valid, 0 skipped, 0 invalid`)) throw new Error(`lookout validate exited ${code}: ${stdout.slice(-500)}`);
      },
    },
    {
      label: 'lookout --help',
      args: ['bin/lookout.js', '--help'],
      check: (code, stdout) => {
        if (code !== 0 || !stdout.startsWith('Usage: lookout')) throw new Error(`lookout --help exited ${code}`);
      },
    },
    { label: 'node -e 0 (Node alone)', args: ['-e', '0'], check: (code) => { if (code !== 0) throw new Error(`node -e 0 exited ${code}`); } },
  ];
  const warmup = Number(process.env.BENCH_STARTUP_WARMUP ?? 2);
  const rounds = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
  for (let i = 0; i < warmup; i++) for (const c of commands) timedRun(c, env);
  const load = loadavg()[0];
  const runs = commands.map(() => [] as { wall: number; cpu: number | undefined }[]);
  for (let i = 0; i < rounds; i++) commands.forEach((c, j) => runs[j].push(timedRun(c, env)));
  const figures = runs.map((rs) => {
    const wall = rs.map((r) => r.wall);
    const cpu = rs.every((r) => r.cpu !== undefined) ? median(rs.map((r) => r.cpu!)) : undefined;
    return { median: median(wall), text: `${secs(median(wall))} (${secs(Math.min(...wall))}-${secs(Math.max(...wall))}${cpu === undefined ? '' : `; CPU ${cpu.toFixed(2)} s`})` };
  });
  const verdict = figures[0].median < TARGET_SECS ? 'met' : 'not met';
  out(`7. start-up, spawn to exit, median of ${rounds} interleaved runs after ${warmup} warm-up (spread fastest-slowest; load average ${load.toFixed(1)} at the start): ` +
    `${commands[0].label} ${figures[0].text}, target < ${TARGET_SECS} s: ${verdict}; ` +
    commands.slice(1).map((c, j) => `${c.label} ${figures[j + 1].text}`).join('; '));
}
