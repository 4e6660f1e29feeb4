/**
 * Figures against Elasticsearch, per scale (a day of 1 M or 10 M events): one scheduled
 * execution, a backfill of the day by the real `lookout backfill` command in a child process
 * (rate and peak RSS) against a bare export of the same documents, N rules sharing a read, and
 * (at the first scale) what each way of fetching fields costs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@elastic/elasticsearch';
import { installAlertsTemplate } from '../src/alerts/writer.js';
import { compileEql } from '../src/eql/compile.js';
import type { Rule } from '../src/rules/model.js';
import { executeRule, executeRules, sourceFields, type ExecuteDeps } from '../src/scheduler/execute.js';
import { corpusRules } from './corpus.js';
import type { BenchData } from './data.js';
import { plantedFound } from './memory.js';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Bytes of search responses while `f` runs (content-length, or the body's JSON size). */
export async function measureBytes<T>(client: Client, f: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  let bytes = 0;
  const onResponse = (_err: unknown, ev: { headers?: Record<string, unknown>; body?: unknown; meta?: { request?: { params?: { path?: string } } } } | null) => {
    if (!ev?.meta?.request?.params?.path?.includes('_search')) return;
    const length = Number(ev.headers?.['content-length']);
    bytes += Number.isFinite(length) && length > 0 ? length : Buffer.byteLength(JSON.stringify(ev.body ?? ''));
  };
  client.diagnostic.on('response', onResponse as never);
  try {
    return { value: await f(), bytes };
  } finally {
    client.diagnostic.off('response', onResponse as never);
  }
}

/** The fastest plain read we know of the documents: point in time, `_shard_doc` order, whole `_source`; `slices` streams at once. */
export async function bareExport(client: Client, pattern: string, range: { start: number; end: number }, pageSize: number, slices: number): Promise<{ docs: number; secs: number; bytes: number }> {
  const t = performance.now();
  const { value: docs, bytes } = await measureBytes(client, async () => {
    const pit = await client.openPointInTime({ index: pattern, keep_alive: '5m' });
    const one = async (slice: number) => {
      let n = 0;
      let after: unknown[] | undefined;
      for (;;) {
        const res = await client.search({
          pit: { id: pit.id, keep_alive: '5m' }, size: pageSize, sort: [{ _shard_doc: 'asc' }] as never, search_after: after as never, track_total_hits: false,
          query: { range: { '@timestamp': { gte: range.start, lte: range.end, format: 'epoch_millis' } } },
          ...(slices > 1 ? { slice: { id: String(slice), max: slices } } : {}),
        });
        n += res.hits.hits.length;
        if (res.hits.hits.length < pageSize) return n;
        after = res.hits.hits[res.hits.hits.length - 1].sort;
      }
    };
    const counts = await Promise.all(Array.from({ length: slices }, (_, i) => one(i)));
    await client.closePointInTime({ id: pit.id });
    return counts.reduce((a, b) => a + b, 0);
  });
  return { docs, secs: (performance.now() - t) / 1000, bytes };
}

export function pointRuleAt(rule: Rule, data: BenchData): Rule {
  return { ...rule, indices: Object.values(data.indices) };
}

/** 2. One scheduled execution: the last 9 minutes of the day. */
export async function scheduledFigure(deps: ExecuteDeps, rule: Rule, data: BenchData, out: (s: string) => void): Promise<void> {
  const { client } = deps;
  const w = { start: data.end - 9 * 60_000, end: data.end };
  const inWindow = (await client.count({ index: data.pattern, query: { range: { '@timestamp': { gte: w.start, lte: w.end, format: 'epoch_millis' } } } })).count;
  await executeRule(deps, rule, w, 'once'); // warm-up (caches, JIT)
  const times: number[] = [];
  let fetched = 0;
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const m = await measureBytes(client, () => executeRule(deps, rule, w, 'once'));
    times.push(performance.now() - t);
    fetched = m.value.record.eventsRead;
    bytes = m.bytes;
  }
  times.sort((a, b) => a - b);
  const plain = await bareExport(client, data.pattern, w, 2000, 1);
  out(`2. one scheduled execution (9-minute window): median ${times[2].toFixed(0)} ms wall (min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}); ` +
    `${fmt(inWindow)} documents in the window, ${fmt(fetched)} fetched after pushdown (${((1 - fetched / Math.max(1, inWindow)) * 100).toFixed(0)}% not transferred); ` +
    `${mb(bytes)} of search responses, against ${mb(plain.bytes)} to read the window's documents whole`);
}

/** 3. Backfill of the whole day by `lookout backfill` in a child process, against a bare export. */
export async function backfillFigure(client: Client, url: string, data: BenchData, out: (s: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-bench-rules-'));
  const toml = await readFile('rules/windows/lateral_movement_incoming_winrm_shell_execution.toml', 'utf8');
  await writeFile(join(dir, 'winrm.toml'), toml.replace(/^index = \[[^\]]*\]/m, `index = ${JSON.stringify(Object.values(data.indices))}`));
  const exports = [];
  for (const slices of [1, 2]) exports.push({ slices, ...(await bareExport(client, data.pattern, data, 2000, slices)) });
  const fastest = exports.reduce((a, b) => (b.secs < a.secs ? b : a));
  out(`3. backfill of the day (${fmt(data.total)} events): bare paged export of the same documents (point in time, _shard_doc order, whole _source), ` +
    exports.map((e) => `${e.slices === 1 ? 'one stream' : `${e.slices} slices at once`} ${e.secs.toFixed(1)} s = ${fmt(e.docs / e.secs)} docs/s (${mb(e.bytes)})`).join('; '));
  try {
    for (const concurrency of [1, 2]) {
      const alerts = `lookout-bench-alerts-bf-${data.total}`;
      const state = `lookout-bench-state-bf-${data.total}`;
      await client.indices.delete({ index: `${alerts},${state}`, ignore_unavailable: true });
      await installAlertsTemplate(client, alerts);
      const t = performance.now();
      const child = await runChild(['bin/lookout.js', 'backfill', '--from', new Date(data.start).toISOString(), '--to', new Date(data.end + 1).toISOString()], {
        ELASTICSEARCH_URL: url, LOOKOUT_RULES_DIR: dir, LOOKOUT_ALERTS_INDEX: alerts, LOOKOUT_STATE_INDEX: state,
        LOOKOUT_LOG_LEVEL: 'warn', LOOKOUT_LOG_FORMAT: 'json', LOOKOUT_BACKFILL_CONCURRENCY: String(concurrency), LOOKOUT_METRICS_PORT: '0',
      });
      const secs = (performance.now() - t) / 1000;
      await client.indices.refresh({ index: alerts });
      const hosts = await client.search<{ host: { id: string } }>({ index: alerts, size: 10_000, _source: ['host.id'] });
      const found = plantedFound(data.attacks, hosts.hits.hits.flatMap((h) => (h._source ? [h._source.host.id] : [])));
      out(`   lookout backfill, ${concurrency} window(s) in flight: ${secs.toFixed(1)} s = ${fmt(data.total / secs)} events of the day/s ` +
        `(${(100 * (data.total / secs) / (fastest.docs / fastest.secs)).toFixed(0)}% of the fastest export's rate); peak RSS ${fmt(child.maxRssKb / 1024)} MB; ` +
        `exit ${child.code}; planted ${data.attacks.length}, ${found}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runChild(args: string[], env: Record<string, string>): Promise<{ code: number | null; maxRssKb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './bench/rss.mjs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /LOOKOUT_BENCH_MAX_RSS_KB (\d+)/.exec(stderr);
      if (!m || code !== 0) process.stderr.write(stderr.slice(-2000));
      resolve({ code, maxRssKb: m ? Number(m[1]) : Number.NaN });
    });
  });
}

/** Milliseconds of the fastest of three runs. */
/**
 * Each of `fs` once per round, in turn, for `rounds` rounds (so a slow moment of the machine
 * falls on all of them, not on one): each one's best and its time in every round.
 */
async function interleaved(fs: readonly (() => Promise<unknown>)[], rounds: number): Promise<{ best: number; runs: number[] }[]> {
  const runs = fs.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      runs[i].push(performance.now() - t0);
    }
  }
  return runs.map((r) => ({ best: Math.min(...r), runs: r }));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** 4. N rules over the same indices and window: separate executions against one shared read. */
export async function manyRulesFigure(deps: ExecuteDeps, rule: Rule, data: BenchData, out: (s: string) => void): Promise<void> {
  const w = { start: data.end - 9 * 60_000, end: data.end };
  const variants = ['cmd.exe', 'powershell.exe', 'whoami.exe', 'net.exe', 'ipconfig.exe'];
  const make = (n: number) => Array.from({ length: n }, (_, i) => {
    if (i === 0) return rule;
    const q = rule.query.replace('process.parent.name : "winrshost.exe"', `process.parent.name : "winrshost.exe" and process.name : "${variants[i % variants.length]}"`);
    return { ...rule, ruleId: `bench-${i}`, query: q, compiled: compileEql(q) };
  });
  await executeRule(deps, rule, w, 'once');
  const sets = [10, 50].map(make);
  for (const rules of sets) await executeRules(deps, rules, w, 'once'); // warm-up
  // One rule, then each set separately and sharing a read, in turn, three rounds.
  const [oneRun, ...rest] = await interleaved([
    () => executeRule(deps, rule, w, 'once'),
    ...sets.flatMap((rules) => [
      async () => {
        for (const r of rules) await executeRule(deps, r, w, 'once');
      },
      () => executeRules(deps, rules, w, 'once'),
    ]),
  ], 3);
  const one = oneRun.best;
  const rows = sets.map((rules, i) => {
    const separate = rest[2 * i].best;
    const shared = rest[2 * i + 1].best;
    return `${rules.length} rules: separate ${separate.toFixed(0)} ms (${(separate / one).toFixed(1)}x), shared read ${shared.toFixed(0)} ms (${(shared / one).toFixed(2)}x)`;
  });
  out(`4. N rules over the same indices (9-minute window, best of 3 interleaved rounds after a warm-up): one rule ${one.toFixed(0)} ms; ${rows.join('; ')}`);
}

/** 4b. Fifty different rules: the WinRM rule and 49 prebuilt Windows EQL rules, pointed at the data. */
export async function corpusRulesFigure(deps: ExecuteDeps, rule: Rule, data: BenchData, corpus: string, out: (s: string) => void): Promise<void> {
  let others: Rule[];
  try {
    // Pointed at the data: its indices, and its timestamp (the data has no event.ingested).
    others = (await corpusRules(corpus, 49, { windowsOnly: true })).map((r) => ({ ...r, indices: [...rule.indices], timestampField: rule.timestampField, timestampFallback: rule.timestampFallback, maxSignals: 10_000 }));
  } catch {
    out(`4b. 50 prebuilt rules: the corpus is not at ${corpus} (set BENCH_CORPUS); skipped`);
    return;
  }
  const rules = [rule, ...others];
  const w = { start: data.end - 9 * 60_000, end: data.end };
  await executeRules(deps, rules, w, 'once'); // warm-up
  await executeRule(deps, rule, w, 'once');
  let reads = 0;
  let widened = 0;
  let narrowed = 0;
  let fetched = 0;
  // One rule, the 50 separately, the 50 sharing a read: in turn, three rounds.
  const [oneRun, separateRun, sharedRun] = await interleaved([
    () => executeRule(deps, rule, w, 'once'),
    async () => {
      for (const r of rules) await executeRule(deps, r, w, 'once');
    },
    async () => {
      const results = await executeRules(deps, rules, w, 'once');
      const all = new Set(results.map((r) => r.read));
      reads = all.size;
      widened = [...all].filter((r) => r?.widened).length;
      narrowed = [...all].filter((r) => r?.narrowed).length;
      fetched = [...all].reduce((n, r) => n + (r?.hits ?? 0), 0);
    },
  ], 3);
  const one = oneRun.best;
  const separate = separateRun.best;
  const shared = sharedRun.best;
  const ratio = shared / one;
  const perRound = sharedRun.runs.map((t, i) => t / oneRun.runs[i]);
  out(`4b. the WinRM rule and 49 prebuilt Windows EQL rules (${rules.length} rules, ${others.filter((r) => r.compiled.kind === 'sequence').length + 1} sequences) over the same indices, 9-minute window, best of 3 interleaved rounds after a warm-up: ` +
    `separate ${separate.toFixed(0)} ms (${(separate / one).toFixed(1)}x one rule), shared ${shared.toFixed(0)} ms (${ratio.toFixed(2)}x, each round's ratio ${perRound.map((r) => r.toFixed(2)).join(', ')}, median ${median(perRound).toFixed(2)}x; target <= 3x: ${ratio <= 3 ? 'met' : 'not met'}; ` +
    `${reads} read(s) under the clause limit, ${widened} widened to its cheaper superset, ${narrowed} with its costly clauses decided on the window's values; ${fetched} documents fetched); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

/** 5. Fetching the fields a rule needs: `_source` filtering, `fields`, `docvalue_fields`, whole `_source`. */
export async function decodeFigure(client: Client, rule: Rule, data: BenchData, out: (s: string) => void): Promise<void> {
  const range = { start: data.start, end: data.start + 5 * 3_600_000 };
  const fields = sourceFields(rule);
  const ways: [string, Record<string, unknown>][] = [
    ['_source filtered to the rule\'s fields (what Lookout does)', { _source: { includes: fields } }],
    ['fields (from _source, flattened)', { _source: false, fields }],
    ['docvalue_fields (from doc values, no _source)', { _source: false, docvalue_fields: fields.map((f) => ({ field: f })) }],
    ['whole _source', {}],
  ];
  const rows: string[] = [];
  for (const [name, body] of ways) {
    const best: { secs: number; bytes: number; docs: number }[] = [];
    for (let round = 0; round < 2; round++) {
      const t = performance.now();
      const { value: docs, bytes } = await measureBytes(client, async () => {
        const pit = await client.openPointInTime({ index: data.pattern, keep_alive: '2m' });
        let n = 0;
        let after: unknown[] | undefined;
        for (;;) {
          const res = await client.search({
            pit: { id: pit.id, keep_alive: '2m' }, size: 2000, sort: [{ '@timestamp': 'asc' }, { _shard_doc: 'asc' }] as never, search_after: after as never,
            track_total_hits: false, query: { range: { '@timestamp': { gte: range.start, lte: range.end, format: 'epoch_millis' } } }, ...body,
          } as never);
          n += res.hits.hits.length;
          if (res.hits.hits.length < 2000) break;
          after = res.hits.hits[res.hits.hits.length - 1].sort;
        }
        await client.closePointInTime({ id: pit.id });
        return n;
      });
      best.push({ secs: (performance.now() - t) / 1000, bytes, docs });
    }
    const b = best.reduce((x, y) => (y.secs < x.secs ? y : x));
    rows.push(`${name}: ${b.secs.toFixed(2)} s, ${fmt(b.docs / b.secs)} docs/s, ${mb(b.bytes)}`);
  }
  out(`5. fetching the fields of ${fmt(0 + (await client.count({ index: data.pattern, query: { range: { '@timestamp': { gte: range.start, lte: range.end, format: 'epoch_millis' } } } })).count)} documents (5 hours), best of 2:\n   ${rows.join('\n   ')}`);
}
