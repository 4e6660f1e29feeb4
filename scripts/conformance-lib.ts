/**
 * What the conformance scripts (eql-, kql-, esql-conformance.ts) share: where the corpus is, its
 * live rule files, the dotted-path writes that build events from a rule's literals, and the
 * server side of a run (an events index, the alerts and state indices, what executeRule needs).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { ElasticAlertSink, installAlertsTemplate } from '../src/alerts/writer.js';
import { loadConfig } from '../src/config/env.js';
import { silentLogger } from '../src/logging/logger.js';
import { createClient } from '../src/search/client.js';
import { StateStore } from '../src/state/store.js';

export const CORPUS = process.env.LOOKOUT_CORPUS ?? join(process.cwd(), '..', 'shared', 'corpus', 'elastic-detection-rules');

/** The TOML rule files under `dir`, `_deprecated/` folders left out. */
export async function ruleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== '_deprecated') out.push(...(await ruleFiles(full)));
    else if (entry.name.endsWith('.toml')) out.push(full);
  }
  return out;
}

/** The live rules of the corpus: `rules/` and `rules_building_block/`, sorted. */
export async function liveRuleFiles(): Promise<string[]> {
  return (await Promise.all([ruleFiles(join(CORPUS, 'rules')), ruleFiles(join(CORPUS, 'rules_building_block'))])).flat().sort();
}

/** A conformance run's indices on the server (ELASTICSEARCH_URL and the rest from the environment). */
export class ConformanceServer {
  readonly client: Client;
  private readonly config: ReturnType<typeof loadConfig>;

  constructor(readonly index: string, prefix: string) {
    this.config = loadConfig({ ...process.env, LOOKOUT_ALERTS_INDEX: `${prefix}-alerts`, LOOKOUT_STATE_INDEX: `${prefix}-state` });
    this.client = createClient(this.config.elasticsearch);
  }

  private get indices(): string {
    return `${this.index},${this.config.alertsIndex},${this.config.stateIndex}`;
  }

  /** Deletes what an earlier run left. */
  async reset(): Promise<void> {
    await this.client.indices.delete({ index: this.indices, ignore_unavailable: true });
  }

  /** The events index: strings as keyword, malformed values ignored, plus `settings` and `properties`. */
  async createEventIndex(settings: Record<string, unknown> = {}, properties: Record<string, unknown> = {}): Promise<void> {
    await this.client.indices.create({
      index: this.index,
      settings: { number_of_shards: 1, number_of_replicas: 0, 'index.mapping.total_fields.limit': 20_000, 'index.mapping.ignore_malformed': true, ...settings },
      mappings: { dynamic_templates: [{ s: { match_mapping_type: 'string', mapping: { type: 'keyword' } } }], properties },
    } as never);
  }

  /** Installs the alerts template and the state store; what executeRule takes. */
  async executionDeps() {
    await installAlertsTemplate(this.client, this.config.alertsIndex);
    const store = new StateStore(this.client, this.config.stateIndex);
    await store.install();
    return { client: this.client, sink: new ElasticAlertSink(this.client, this.config.alertsIndex), store, logger: silentLogger(), pageSize: 1000, readMode: 'auto' as const };
  }

  /** Deletes the run's indices (when `clean`) and closes the client. */
  async close(clean: boolean): Promise<void> {
    if (clean) await this.reset().catch(() => undefined);
    await this.client.close();
  }
}

/** Sets a dotted path of `doc`, making objects on the way; keeps a value already there unless `force`. */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown, force = false): void {
  const parts = path.split('.');
  let node = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (force || node[last] === undefined) node[last] = value;
}
