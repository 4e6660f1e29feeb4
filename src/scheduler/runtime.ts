/** What every command that talks to Elasticsearch sets up first, built from the configuration. */
import type { Client } from '@elastic/elasticsearch';
import { ElasticAlertSink, installAlertsTemplate } from '../alerts/writer.js';
import type { Config } from '../config/env.js';
import type { Logger } from '../logging/logger.js';
import { checkCluster, createClient, type ClusterInfo } from '../search/client.js';
import { StateStore } from '../state/store.js';
import type { ExecuteDeps } from './execute.js';

export interface Runtime extends ExecuteDeps {
  readonly cluster: ClusterInfo;
  close(): Promise<void>;
}

export async function connect(config: Config, logger: Logger, client: Client = createClient(config.elasticsearch)): Promise<Runtime> {
  try {
    const cluster = await checkCluster(client, redactUrl(config.elasticsearch.url), config.elasticsearch.requestTimeoutMs);
    logger.info(`connected to Elasticsearch ${cluster.version}`, { url: redactUrl(config.elasticsearch.url) });
    const store = new StateStore(client, config.stateIndex, { logger });
    // The two indices are independent: installed side by side, one round of template, check and
    // creation instead of two (creating an index is the slowest step of a short command's start).
    const installs = await Promise.allSettled([installAlertsTemplate(client, config.alertsIndex), store.install()]);
    for (const r of installs) if (r.status === 'rejected') throw r.reason;
    return {
      client,
      cluster,
      sink: new ElasticAlertSink(client, config.alertsIndex, undefined, false, config.bulkBytes),
      store,
      logger,
      pageSize: config.pageSize,
      readMode: config.readMode,
      close: () => client.close(),
    };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '***';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
