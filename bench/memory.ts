/**
 * In-memory figures: evaluation rates on one core over events as they arrive from the cluster
 * (pages of JSON, decoded one page at a time, so what is evaluated is fresh in the cache) and the
 * memory a pending sequence holds. Decoding is timed apart from evaluation and reported too.
 */
import { performance } from 'node:perf_hooks';
import { MemoryAlertSink } from '../src/alerts/writer.js';
import { generateDataset, type PlantedAttack } from '../src/demo/generate.js';
import type { EventRecord } from '../src/engine/events.js';
import { EventRouter } from '../src/engine/route.js';
import { RuleRun } from '../src/engine/run.js';
import { SequenceMatcher } from '../src/engine/sequence.js';
import type { Rule } from '../src/rules/model.js';
import { corpusRules } from './corpus.js';
import { SIGMA_SWEEPS, sigmaEvents } from './sigma-data.js';
import type { CompiledSequence } from '../src/eql/compile.js';

const PAGE = 1000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Events in time order, as JSON pages (what a search response holds). */
function toPages(events: readonly EventRecord[]): string[] {
  const pages: string[] = [];
  for (let i = 0; i < events.length; i += PAGE) pages.push(JSON.stringify(events.slice(i, i + PAGE)));
  return pages;
}

interface Rates {
  readonly events: number;
  readonly evalSecs: number;
  readonly decodeSecs: number;
  /** CPU time (user + system) of the evaluation alone: on a shared machine, what wall time hides. */
  readonly evalCpuSecs: number;
}

/** Feeds every page to the runs (through a router when several), timing decode and evaluation apart. */
async function evaluatePages(pages: readonly string[], runs: readonly { run: RuleRun; rule: Rule }[]): Promise<Rates> {
  const router = new EventRouter(runs.map((r) => ({ target: r.run, rule: r.rule })));
  let decode = 0;
  let evaluate = 0;
  let cpu = 0;
  let events = 0;
  for (const text of pages) {
    let t = performance.now();
    const page = JSON.parse(text) as EventRecord[];
    decode += performance.now() - t;
    const c = process.cpuUsage();
    t = performance.now();
    if (runs.length === 1) for (const e of page) runs[0].run.feed(e);
    else for (const e of page) for (const run of router.route(e.source)) run.feed(e);
    evaluate += performance.now() - t;
    cpu += cpuMicros(process.cpuUsage(c));
    events += page.length;
  }
  const c = process.cpuUsage();
  const t = performance.now();
  for (const { run } of runs) run.end();
  evaluate += performance.now() - t;
  cpu += cpuMicros(process.cpuUsage(c));
  return { events, evalSecs: evaluate / 1000, decodeSecs: decode / 1000, evalCpuSecs: cpu / 1e6 };
}

const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

const rate = (r: Rates) => `${fmt(r.events / r.evalSecs)} events/s evaluated (decoding the JSON pages: ${fmt(r.events / r.decodeSecs)} events/s, both: ${fmt(r.events / (r.evalSecs + r.decodeSecs))} events/s)`;

function newRun(rule: Rule, sink = new MemoryAlertSink()): { run: RuleRun; rule: Rule; sink: MemoryAlertSink } {
  return { run: new RuleRun({ ...rule, maxSignals: 1_000_000 }, sink, { now: new Date(0), batchSize: Number.MAX_SAFE_INTEGER }), rule, sink };
}

export async function winrmFigure(rule: Rule, out: (s: string) => void): Promise<void> {
  const data = generateDataset({ seed: 1, start: 0, end: 24 * 3_600_000, noiseEvents: 500_000, attacks: 60, hosts: 2000 });
  const events = data.events
    .map((e) => ({ index: e.index, id: e.id, timestamp: Date.parse(e.source['@timestamp'] as string), source: e.source }))
    .sort((a, b) => a.timestamp - b.timestamp);
  const pages = toPages(events);
  let best: Rates | undefined;
  let found = '';
  for (let round = 0; round < 4; round++) {
    const r = newRun(rule);
    const rates = await evaluatePages(pages, [r]);
    if (!best || rates.evalSecs < best.evalSecs) best = rates;
    found = plantedFound(data.attacks, r.run.takeBatch().map((a) => (a.doc.host as { id: string }).id));
  }
  out(`1. in-memory evaluation, WinRM sequence, one core: ${rate(best!)}; ${fmt(best!.events)} events, best of 4 rounds; planted 60, ${found}`);
}

/** Whether every planted attack's host has an alert: the condition for a figure to count. */
export function plantedFound(attacks: readonly PlantedAttack[], hostIds: readonly string[]): string {
  const seen = new Set(hostIds);
  const n = attacks.filter((a) => seen.has(a.hostId)).length;
  return n === attacks.length ? 'all found' : `ONLY ${n} FOUND (the figure does not count)`;
}

/** The in-memory mix's target (issue 16): events per second through all 20 rules on one core. */
const MIX_TARGET = 1_000_000;

/**
 * The WinRM rule and 19 prebuilt EQL rules on one core, each event routed by category. Rounds
 * after a warm-up one; rates by CPU time (user + system of the evaluation alone, what the
 * process itself spent) beside wall time, as median with the spread, since the machine is shared.
 */
export async function corpusFigure(winrm: Rule, corpus: string, out: (s: string) => void, rounds = 5): Promise<void> {
  let rules: Rule[];
  try {
    rules = await corpusRules(corpus, 19);
  } catch {
    out(`1b. 20-rule mix: the corpus is not at ${corpus} (set BENCH_CORPUS); skipped`);
    return;
  }
  const data = generateDataset({ seed: 3, start: 0, end: 6 * 3_600_000, noiseEvents: 200_000, attacks: 20, hosts: 1000 });
  const events = data.events
    .map((e) => ({ index: e.index, id: e.id, timestamp: Date.parse(e.source['@timestamp'] as string), source: e.source }))
    .sort((a, b) => a.timestamp - b.timestamp);
  const pages = toPages(events);
  const all = [winrm, ...rules.slice(0, 19)];
  const measured: Rates[] = [];
  let found = '';
  let alerts = 0;
  for (let round = 0; round <= rounds; round++) {
    const runs = all.map((r) => newRun(r));
    const rates = await evaluatePages(pages, runs);
    if (round > 0) measured.push(rates);
    found = plantedFound(data.attacks, runs[0].run.takeBatch().map((a) => (a.doc.host as { id: string }).id));
    alerts = runs.reduce((n, r) => n + r.run.counts.matches, 0);
  }
  const n = measured[0].events;
  const byCpu = measured.map((r) => n / r.evalCpuSecs).sort((a, b) => a - b);
  const byWall = measured.map((r) => n / r.evalSecs).sort((a, b) => a - b);
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  const decode = median(measured.map((r) => n / r.decodeSecs).sort((a, b) => a - b));
  const kinds = all.reduce<Record<string, number>>((m, r) => ((m[r.compiled.kind] = (m[r.compiled.kind] ?? 0) + 1), m), {});
  const cpuMedian = median(byCpu);
  out(`1b. in-memory evaluation, 20-rule mix (the WinRM rule and 19 prebuilt EQL rules over endpoint/Windows indices, ${Object.entries(kinds).map(([k, c]) => `${c} ${k}`).join(', ')}; each event routed by category and by the rules' shared guards), one core, ${fmt(n)} events, ${rounds} rounds after a warm-up: ` +
    `${fmt(cpuMedian)} events/s by CPU time (median; ${fmt(byCpu[0])}–${fmt(byCpu[byCpu.length - 1])}), ${fmt(median(byWall))} by wall time (${fmt(byWall[0])}–${fmt(byWall[byWall.length - 1])}); ` +
    `target ≥ ${fmt(MIX_TARGET)} ${cpuMedian >= MIX_TARGET ? '✔' : '✘'} (decoding the JSON pages: ${fmt(decode)} events/s); ${alerts} matches; planted WinRM attacks: ${found}`);
  out(`    the 19: ${all.slice(1).map((r) => r.name).join('; ')}`);
}

export async function sigmaFigure(rule: Rule, out: (s: string) => void): Promise<void> {
  const events = sigmaEvents();
  const sweeps = SIGMA_SWEEPS;
  const pages = toPages(events);
  let best: Rates | undefined;
  let alerts = 0;
  for (let round = 0; round < 3; round++) {
    const r = newRun(rule);
    const rates = await evaluatePages(pages, [r]);
    if (!best || rates.evalSecs < best.evalSecs) best = rates;
    alerts = r.run.takeBatch().length;
  }
  out(`1c. in-memory evaluation, the Sigma count rule (count(Computer) > 30 in 15m over 4688 events), one core: ${rate(best!)}; planted ${sweeps} sweeps, ${alerts} alerts${alerts === sweeps ? ' (all found, nothing else)' : ' (MISMATCH: the figure does not count)'}`);
}

/** Heap held per pending sequence: many hosts each waiting at the first stage, no eviction. */
export function sequenceMemoryFigure(rule: Rule, out: (s: string) => void): void {
  if (rule.compiled.kind !== 'sequence' || !global.gc) {
    out('1d. memory per open sequence: needs node --expose-gc (npm run bench passes it); skipped');
    return;
  }
  const n = 200_000;
  const events: EventRecord[] = Array.from({ length: n }, (_, i) => ({
    index: 'logs-endpoint.events.network-x', id: `m${i}`, timestamp: 1_000_000 + i / 100,
    source: JSON.parse(JSON.stringify({
      '@timestamp': new Date(1_000_000 + i / 100).toISOString(), event: { category: ['network'], type: ['start'] },
      host: { id: `host-${i}`, os: { type: 'windows' } }, process: { pid: 4, name: 'System' }, network: { direction: 'ingress' },
      source: { ip: `10.1.${(i >> 8) & 255}.${i & 255}`, port: 50000 }, destination: { port: 5985 },
    })),
  }));
  global.gc();
  const before = process.memoryUsage().heapUsed;
  const matcher = new SequenceMatcher(rule.compiled as CompiledSequence);
  for (const e of events) matcher.push(e, () => undefined);
  global.gc();
  const held = process.memoryUsage().heapUsed - before;
  out(`1d. memory per open sequence (WinRM rule, ${fmt(matcher.openPartials)} hosts waiting at the first stage): ${fmt(held / n)} bytes each in the matcher, besides the event itself (the decoded document it keeps, here ~${fmt(docBytes(events.slice(0, 2000)))} bytes); evicted after maxspan (30 s)`);
}

function docBytes(sample: readonly EventRecord[]): number {
  global.gc!();
  const before = process.memoryUsage().heapUsed;
  const copies = sample.map((e) => JSON.parse(JSON.stringify(e.source)));
  const after = process.memoryUsage().heapUsed;
  return copies.length > 0 ? (after - before) / copies.length : 0;
}
