/**
 * Loads generated events into Elasticsearch for the demo, tests and benchmarks, with the small
 * ECS mapping of mappings/ecs-events-template.json on the indices it writes.
 */
import type { Client } from '@elastic/elasticsearch';
import { readMapping } from '../config/mappings.js';
import type { GeneratedEvent } from './generate.js';

export async function installEventTemplate(client: Client, name: string, patterns: readonly string[]): Promise<void> {
  await client.indices.putIndexTemplate({ name, index_patterns: [...patterns], priority: 400, ...readMapping('ecs-events-template.json') } as never);
}

/**
 * Creates one event index with the same mapping, without an index template (a template over
 * `.ds-*` names would overlap others' on a shared cluster). With an alias as write index, it
 * stands for a data stream's backing index: `createEventIndex(c, '.ds-s-2026.11.26-000001', 's')`.
 */
export async function createEventIndex(client: Client, index: string, writeAlias?: string): Promise<void> {
  const { template } = readMapping('ecs-events-template.json') as { template: Record<string, unknown> };
  await client.indices.create({ index, ...template, ...(writeAlias ? { aliases: { [writeAlias]: { is_write_index: true } } } : {}) } as never);
}

export async function indexEvents(client: Client, events: Iterable<GeneratedEvent>, options: { chunk?: number; refresh?: boolean } = {}): Promise<number> {
  const chunk = options.chunk ?? 5000;
  let batch: unknown[] = [];
  let count = 0;
  const touched = new Set<string>();
  const send = async () => {
    if (batch.length === 0) return;
    const res = await client.bulk({ operations: batch });
    if (res.errors) {
      const bad = res.items.find((i) => Object.values(i)[0]?.error);
      throw new Error(`bulk indexing failed: ${JSON.stringify(bad)}`);
    }
    batch = [];
  };
  for (const e of events) {
    batch.push({ index: { _index: e.index, _id: e.id } }, e.source);
    touched.add(e.index);
    count++;
    if (batch.length >= chunk * 2) await send();
  }
  await send();
  if (options.refresh !== false && touched.size > 0) await client.indices.refresh({ index: [...touched].join(',') });
  return count;
}
