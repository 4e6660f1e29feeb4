/**
 * The Sigma count rule's data set (figures 1c and 9): Security 4688 events from 2,000 computers
 * over 12 hours, wsmprovhost.exe now and then, and ten planted sweeps (35 computers in 5
 * minutes by user eve, an hour apart). Figure 9 indexes it once into its own index and keeps it.
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../src/config/mappings.js';
import type { EventRecord } from '../src/engine/events.js';

export const SIGMA_INDEX = 'winlogbeat-bench-sigma';
export const SIGMA_START = Date.UTC(2026, 10, 1);
export const SIGMA_END = SIGMA_START + 12 * 3_600_000;
export const SIGMA_SWEEPS = 10;

/** The sweeps as [first, last] timestamps, in order. */
export const sigmaSweeps = (): [number, number][] =>
  Array.from({ length: SIGMA_SWEEPS }, (_, s) => [SIGMA_START + (s + 1) * 3_600_000, SIGMA_START + (s + 1) * 3_600_000 + 34 * 8000]);

export function sigmaEvents(): EventRecord[] {
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const events: EventRecord[] = [];
  const doc = (ts: number, computer: string, image: string, user = 'alice') => ({
    index: SIGMA_INDEX, id: `s${events.length}`, timestamp: ts,
    source: {
      '@timestamp': new Date(ts).toISOString(), event: { code: '4688', kind: 'event' },
      winlog: { channel: 'Security', event_id: 4688, computer_name: computer, event_data: { NewProcessName: image, TargetUserName: user, TargetLogonId: `0x${Math.floor(rand() * 1e6).toString(16)}` } },
    },
  });
  const images = ['C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\System32\\conhost.exe', 'C:\\Program Files\\Google\\Chrome\\chrome.exe', 'C:\\Windows\\explorer.exe'];
  for (let i = 0; i < 400_000; i++) {
    const ts = SIGMA_START + rand() * 12 * 3_600_000;
    const wsm = rand() < 0.002;
    events.push(doc(ts, `ws${Math.floor(rand() * 2000)}.corp`, wsm ? 'C:\\Windows\\System32\\wsmprovhost.exe' : images[Math.floor(rand() * images.length)]));
  }
  for (const [s, [at]] of sigmaSweeps().entries()) {
    for (let c = 0; c < 35; c++) events.push(doc(at + c * 8000, `target-${s}-${c}.corp`, 'C:\\Windows\\System32\\wsmprovhost.exe', 'eve'));
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  return events;
}

/** Indexes the data set into SIGMA_INDEX unless it is there already (one shard, merged). */
export async function ensureSigmaData(client: Client, log: (s: string) => void): Promise<number> {
  const events = sigmaEvents();
  const have = await client.count({ index: SIGMA_INDEX, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
  if (have === events.length) return events.length;
  log(`(indexing ${events.length.toLocaleString('en-US')} events into ${SIGMA_INDEX}; kept for the next run)`);
  await client.indices.delete({ index: SIGMA_INDEX, ignore_unavailable: true });
  await client.indices.create({
    index: SIGMA_INDEX,
    settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' },
    mappings: (readMapping('ecs-events-template.json').template as { mappings: unknown }).mappings as never,
  } as never);
  for (let i = 0; i < events.length; i += 10_000) {
    const operations = events.slice(i, i + 10_000).flatMap((e) => [{ index: { _index: e.index, _id: e.id } }, e.source]);
    const res = await client.bulk({ operations });
    if (res.errors) throw new Error(`bulk indexing failed: ${JSON.stringify(res.items.find((it) => Object.values(it)[0]?.error))}`);
  }
  await client.indices.refresh({ index: SIGMA_INDEX });
  await client.indices.forcemerge({ index: SIGMA_INDEX, max_num_segments: 1 });
  return events.length;
}
