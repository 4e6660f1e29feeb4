/**
 * The benchmark data: a day of generated events at a given scale, in three indices of its own,
 * built once (streamed: ten million events are never held) and kept in the benchmark node's data
 * folder for the next run. The planted attacks are known without reading anything back.
 */
import type { Client } from '@elastic/elasticsearch';
import { performance } from 'node:perf_hooks';
import { readMapping } from '../src/config/mappings.js';
import { generateEvents, plantedAttacks, type EventIndices, type GenerateOptions, type PlantedAttack } from '../src/demo/generate.js';

export interface BenchData {
  readonly indices: EventIndices;
  readonly pattern: string;
  readonly start: number;
  readonly end: number;
  readonly total: number;
  readonly attacks: readonly PlantedAttack[];
  /** Seconds spent indexing in this run (0 when the data was already there). */
  readonly indexedSecs: number;
}

export const ATTACKS = 60;
const DAY = 24 * 3_600_000;

export function benchOptions(total: number, indices: EventIndices): GenerateOptions {
  const end = Date.parse('2026-11-01T00:00:00Z');
  // Noise events come alone or in pairs (about 1.1 per draw); the attacks add 2 or 3 each.
  return { seed: 2, start: end - DAY, end, noiseEvents: Math.round((total - ATTACKS * 3) / 1.1), attacks: ATTACKS, hosts: 5000, idPrefix: 'b', indices };
}

export function benchIndices(total: number): EventIndices {
  const suffix = total === 1_000_000 ? 'bench' : `bench-${total}`;
  return { defendNetwork: `logs-endpoint.events.network-${suffix}`, defendProcess: `logs-endpoint.events.process-${suffix}`, winlogbeat: `winlogbeat-${suffix}` };
}

/** Counts what one generation yields, without keeping it. */
function expectedCount(o: GenerateOptions): number {
  let n = 0;
  for (const _ of generateEvents(o)) n++;
  return n;
}

export async function ensureBenchData(client: Client, total: number, log: (s: string) => void): Promise<BenchData> {
  const indices = benchIndices(total);
  const pattern = Object.values(indices).join(',');
  const o = benchOptions(total, indices);
  const expected = expectedCount(o);
  const have = await client.count({ index: pattern, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
  let indexedSecs = 0;
  if (have !== expected) {
    log(`(indexing ${expected.toLocaleString('en-US')} events into ${pattern}; kept for the next run)`);
    await client.indices.delete({ index: pattern, ignore_unavailable: true });
    await client.indices.putIndexTemplate({
      name: `lookout-${indices.winlogbeat}`, index_patterns: Object.values(indices), priority: 400,
      template: { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' }, mappings: (readMapping('ecs-events-template.json').template as { mappings: unknown }).mappings as never },
    } as never);
    const t = performance.now();
    await bulkIndex(client, generateEvents(o), (n) => {
      if (n % 1_000_000 === 0) log(`  ${n.toLocaleString('en-US')} indexed, ${((performance.now() - t) / 1000).toFixed(0)} s`);
    });
    await client.indices.refresh({ index: pattern });
    // Merging 10 M events can take longer than the client's default request timeout.
    await client.indices.forcemerge({ index: pattern, max_num_segments: 1 }, { requestTimeout: 1_800_000 });
    indexedSecs = (performance.now() - t) / 1000;
  }
  return { indices, pattern, start: o.start, end: o.end, total: expected, attacks: plantedAttacks(o), indexedSecs };
}

/** Bulk indexing with two requests in flight (the node has two cores), 10,000 documents each. */
async function bulkIndex(client: Client, events: Iterable<{ index: string; id: string; source: unknown }>, progress: (n: number) => void): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let ops: unknown[] = [];
  let n = 0;
  const send = (operations: unknown[]) => {
    const p = client.bulk({ operations }).then((res) => {
      if (res.errors) throw new Error(`bulk indexing failed: ${JSON.stringify(res.items.find((i) => Object.values(i)[0]?.error))}`);
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  for (const e of events) {
    ops.push({ index: { _index: e.index, _id: e.id } }, e.source);
    if (++n % 1_000_000 === 0) progress(n);
    if (ops.length >= 20_000) {
      send(ops);
      ops = [];
      if (inFlight.size >= 2) await Promise.race(inFlight);
    }
  }
  if (ops.length > 0) send(ops);
  await Promise.all(inFlight);
}
