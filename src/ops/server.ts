/**
 * The daemon's HTTP endpoints: `/metrics` (Prometheus text format) and `/healthz` (200 while
 * the daemon runs and its rules' latest executions succeed; 503 when every rule's latest
 * execution failed, which usually means the cluster is unreachable).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface Health {
  /** Latest execution status per rule id. */
  readonly latest: ReadonlyMap<string, { status: string; at: number; error?: string }>;
  readonly rules: number;
  readonly startedAt: number;
}

export async function startOpsServer(metrics: Metrics, health: () => Health, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      if (req.url === '/healthz') {
        const h = health();
        const latest = [...h.latest.values()];
        const down = latest.length > 0 && latest.length === h.rules && latest.every((l) => l.status === 'failed');
        res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          status: down ? 'failing' : 'ok',
          rules: h.rules,
          uptime_seconds: Math.round((Date.now() - h.startedAt) / 1000),
          latest: Object.fromEntries([...h.latest.entries()].map(([k, v]) => [k, { status: v.status, at: new Date(v.at).toISOString(), ...(v.error ? { error: v.error } : {}) }])),
        }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics or /healthz\n');
    })().catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${host}:${addr.port}` };
}
