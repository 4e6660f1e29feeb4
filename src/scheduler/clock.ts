/**
 * The time windows are computed in: the cluster's clock, in UTC. A runner whose own clock jumps
 * or drifts would otherwise read the wrong windows; Elasticsearch stamps `event.ingested` and
 * evaluates `now` with its own clock. The offset to the local clock is measured (node stats
 * carry the node's time) and refreshed every few minutes; a skew over a minute is logged.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../logging/logger.js';

export class ClusterClock {
  private offset = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly client: Client,
    private readonly logger: Logger,
    private readonly local: () => number = Date.now,
    private readonly refreshMs = 5 * 60_000,
  ) {}

  /** Cluster time now (epoch ms, UTC); the local clock if the cluster cannot say. */
  async now(): Promise<number> {
    const local = this.local();
    if (local - this.measuredAt > this.refreshMs || local < this.measuredAt) await this.measure(local);
    return this.local() + this.offset;
  }

  private async measure(local: number): Promise<void> {
    try {
      const before = Date.now();
      const res = await this.client.nodes.stats({ node_id: '_local', metric: 'os' });
      const after = Date.now();
      const node = Object.values(res.nodes ?? {})[0] as { timestamp?: number } | undefined;
      if (typeof node?.timestamp !== 'number') return;
      // The node's time at the middle of the round trip, against the local clock then.
      const localMid = local + (after - before) / 2;
      const offset = node.timestamp - localMid;
      if (Math.abs(offset) > 60_000) {
        this.logger.warn(`local clock is ${Math.round(offset / 1000)} s off the cluster's; windows use the cluster's time`, { offset_ms: Math.round(offset) });
      }
      this.offset = Math.abs(offset) > 1000 ? offset : 0;
      this.measuredAt = local;
    } catch {
      // Keep the last offset: the execution will report the cluster's state itself.
    }
  }
}
