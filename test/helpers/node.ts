/** Helpers for tests that need a port, or an Elasticsearch node of their own to kill and restart. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './rules.js';

const run = promisify(execFile);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A development node on its own port and data folder, which a test may SIGKILL and start again. */
export interface KillableNode {
  readonly url: string;
  /** Starts (again) on the same port and data; resolves to the URL. */
  start(): Promise<string>;
  /** SIGKILL, no clean shutdown; synchronous, so it lands before the caller's next request. */
  kill(): void;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export async function killableNode(name: string): Promise<KillableNode> {
  const data = await mkdtemp(join(tmpdir(), `lookout-${name}-`));
  const port = await freePort();
  const script = join(REPO, 'devserver/elasticsearch.sh');
  const start = async () => (await run('bash', [script, 'start', '--data', data, '--port', String(port)], { env: { ...process.env, LOOKOUT_ES_JAVA_OPTS: '-Xms256m -Xmx512m' } })).stdout.trim();
  const url = await start();
  return {
    url,
    start,
    kill: () => {
      process.kill(Number(readFileSync(join(data, 'es.pid'), 'utf8').trim()), 'SIGKILL');
    },
    dispose: async () => {
      await run('bash', [script, 'stop', '--data', data]).catch(() => undefined);
      await rm(data, { recursive: true, force: true });
    },
  };
}
