/**
 * A fault-injecting HTTP proxy of the project's own, between Lookout and the real Elasticsearch:
 * per request it can delay, answer with an error status, drop the connection, or fail chosen
 * items of a bulk request (those items are not forwarded, and the answer says 429 for them).
 * Listens on 127.0.0.1 only.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface Fault {
  delayMs?: number;
  status?: number;
  drop?: boolean;
  /** Bulk: indexes (0-based, per document) of items to refuse with 429. */
  failItems?: readonly number[];
  /** Bulk: refuse the items whose action line this accepts. */
  failWhen?: (action: string) => boolean;
}

export interface FaultProxy {
  readonly url: string;
  /** Requests seen, as `METHOD path`. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, decide: (method: string, path: string, n: number) => Fault | undefined): Promise<FaultProxy> {
  const upstream = new URL(target);
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = req.url ?? '/';
        seen.push(`${req.method} ${path.split('?')[0]}`);
        const fault = decide(req.method ?? 'GET', path, seen.length) ?? {};
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.drop) {
          req.socket.destroy();
          return;
        }
        if (fault.status) {
          res.writeHead(fault.status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
          res.end(JSON.stringify({ error: { type: 'injected_fault', reason: `injected ${fault.status}` }, status: fault.status }));
          return;
        }
        let body = Buffer.concat(chunks);
        let refused: number[] = [];
        if ((fault.failItems || fault.failWhen) && path.split('?')[0].endsWith('/_bulk')) {
          const lines = body.toString('utf8').split('\n').filter((l) => l !== '');
          const pairs: string[][] = [];
          for (let i = 0; i < lines.length; i += 2) pairs.push([lines[i], lines[i + 1]]);
          refused = pairs.map((p, i) => ((fault.failItems ?? []).includes(i) || fault.failWhen?.(p[0]) ? i : -1)).filter((i) => i >= 0);
          body = Buffer.from(pairs.filter((_, i) => !refused.includes(i)).flat().join('\n') + '\n');
          if (refused.length === pairs.length) {
            // Nothing left to forward: answer for the server.
            const items = refused.map(() => ({ create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'injected: queue full' } } }));
            res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
            res.end(JSON.stringify({ took: 0, errors: true, items }));
            return;
          }
        }
        const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
        const up = request({ hostname: upstream.hostname, port: upstream.port, path, method: req.method, headers }, (upRes: IncomingMessage) => {
          const out: Buffer[] = [];
          upRes.on('data', (c: Buffer) => out.push(c));
          upRes.on('end', () => {
            let payload = Buffer.concat(out);
            if (refused.length > 0 && upRes.statusCode === 200) {
              const parsed = JSON.parse(payload.toString('utf8')) as { errors: boolean; items: unknown[] };
              for (const i of [...refused].sort((a, b) => a - b)) {
                parsed.items.splice(i, 0, { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'injected: queue full' } } });
              }
              parsed.errors = true;
              payload = Buffer.from(JSON.stringify(parsed));
            }
            const h = { ...upRes.headers, 'content-length': String(payload.length) };
            delete h['transfer-encoding'];
            res.writeHead(upRes.statusCode ?? 502, h);
            res.end(payload);
          });
        });
        up.on('error', () => res.destroy());
        up.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
