/**
 * 8. The new_terms check (search/aggregate/new-terms.ts): time, searches and response bytes for a
 * history of H documents (BENCH_NEW_TERMS_HISTORY, default 100,000 and 1,000,000, over the 7 days
 * before the window, 20,000 distinct `host.name` values) and W terms in a one-hour window
 * (BENCH_NEW_TERMS_WINDOW, default 100 and 10,000: half of them seen in the history, half new).
 * The history indices are built once and kept; each window is a small index of its own beside
 * them. A figure counts only if exactly the W/2 new terms were found, which is printed with it.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../src/config/mappings.js';
import { indexEvents } from '../src/demo/load.js';
import { findNewTerms, newAggregateStats } from '../src/search/aggregate/index.js';
import { measureBytes } from './cluster.js';

const END = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;
const WINDOW_START = END - HOUR;
const HISTORY_START = WINDOW_START - 7 * 24 * HOUR;
const HISTORY_TERMS = 20_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const numbers = (text: string) => text.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);

async function ensureIndex(client: Client, index: string, count: number, docs: () => Iterable<{ index: string; id: string; source: Record<string, unknown> }>, out: (s: string) => void): Promise<number> {
  const have = await client.count({ index, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
  if (have === count) return 0;
  out(`(indexing ${fmt(count)} documents into ${index}; kept for the next run)`);
  await client.indices.delete({ index, ignore_unavailable: true });
  const { template } = readMapping('ecs-events-template.json') as { template: { mappings: unknown } };
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' }, mappings: template.mappings } as never);
  const t = performance.now();
  await indexEvents(client, docs(), { chunk: 10_000 });
  await client.indices.forcemerge({ index, max_num_segments: 1 });
  return (performance.now() - t) / 1000;
}

function* historyDocs(index: string, n: number): Iterable<{ index: string; id: string; source: Record<string, unknown> }> {
  const span = WINDOW_START - HISTORY_START;
  for (let i = 0; i < n; i++) {
    // Spread evenly over the history window; host names cycle through HISTORY_TERMS values.
    yield { index, id: `h${i}`, source: { '@timestamp': new Date(HISTORY_START + Math.floor((i / n) * span)).toISOString(), host: { name: `host-${i % HISTORY_TERMS}` }, event: { category: ['process'] } } };
  }
}

function* windowDocs(index: string, terms: number): Iterable<{ index: string; id: string; source: Record<string, unknown> }> {
  for (let j = 0; j < terms; j++) {
    // Even j: a name the history has (j < 20,000 for these sizes); odd j: a new name. Two events each.
    const name = j % 2 === 0 ? `host-${j % HISTORY_TERMS}` : `new-${j}`;
    for (let k = 0; k < 2; k++) {
      yield { index, id: `w${j}-${k}`, source: { '@timestamp': new Date(WINDOW_START + 1000 + ((j * 2 + k) % 3_500) * 1000).toISOString(), host: { name }, event: { category: ['process'] } } };
    }
  }
}

export async function newTermsFigure(client: Client, out: (s: string) => void): Promise<void> {
  const histories = numbers(process.env.BENCH_NEW_TERMS_HISTORY ?? '100000,1000000');
  const windows = numbers(process.env.BENCH_NEW_TERMS_WINDOW ?? '100,10000');
  const rows: string[] = [];
  for (const w of windows) {
    await ensureIndex(client, `lookout-bench-nt-window-${w}`, w * 2, () => windowDocs(`lookout-bench-nt-window-${w}`, w), out);
  }
  for (const h of histories) {
    const historyIndex = `lookout-bench-nt-history-${h}`;
    const secs = await ensureIndex(client, historyIndex, h, () => historyDocs(historyIndex, h), out);
    if (secs > 0) out(`   (history of ${fmt(h)} indexed in ${secs.toFixed(0)} s)`);
    for (const w of windows) {
      const scope = { indices: [historyIndex, `lookout-bench-nt-window-${w}`], query: null, timestampField: '@timestamp', from: WINDOW_START, to: END };
      const spec = { fields: ['host.name'], historyStart: HISTORY_START };
      await findNewTerms(client, scope, spec, {}, newAggregateStats()); // warm-up
      const times: number[] = [];
      let last;
      for (let i = 0; i < 3; i++) {
        const stats = newAggregateStats();
        const t = performance.now();
        const { value, bytes } = await measureBytes(client, () => findNewTerms(client, scope, spec, {}, stats));
        times.push(performance.now() - t);
        last = { value, bytes, stats };
      }
      times.sort((a, b) => a - b);
      const found = last!.value.matches.length;
      const ok = found === Math.floor(w / 2) && last!.value.matches.every((m) => String(m.values[0]).startsWith('new-'));
      rows.push(`history ${fmt(h)} docs, ${fmt(w)} window terms: median ${times[1].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[2].toFixed(0)}), ` +
        `${last!.stats.searches} searches (${last!.value.pages} page(s) of terms), server took ${fmt(last!.stats.tookMs)} ms, ${(last!.bytes / 1e6).toFixed(2)} MB of responses; ` +
        `${fmt(found)} new of ${fmt(Math.floor(w / 2))} expected ${ok ? '✔' : '✘'}`);
    }
  }
  out(`8. new_terms check (1 field, 7-day history, 1-hour window, 10,000 terms a page, best of 3 after a warm-up):\n   ${rows.join('\n   ')}`);
}
