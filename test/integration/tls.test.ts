/**
 * TLS: Lookout verifies the cluster's certificate by default. Against a real TLS endpoint (a
 * TLS-terminating proxy of the test's own, certificates made with openssl, in front of the real
 * server): no CA given -> refused; the CA file or its SHA-256 fingerprint -> connected.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { checkCluster, createClient } from '../../src/search/client.js';
import { esUrl } from '../helpers/es.js';

const run = promisify(execFile);

describe('TLS to the cluster', () => {
  let dir: string;
  let server: Server;
  let url: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-tls-'));
    const o = (...args: string[]) => run('openssl', args, { cwd: dir });
    await o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Lookout Test CA');
    await o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    await run('bash', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > ext.cnf'], { cwd: dir });
    await o('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
    const upstream = new URL(esUrl());
    const cert = `${await readFile(join(dir, 'server.pem'), 'utf8')}${await readFile(join(dir, 'ca.pem'), 'utf8')}`;
    server = createServer({ key: await readFile(join(dir, 'server.key')), cert }, (req, res) => {
      const up = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (r: IncomingMessage) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.closeAllConnections();
    server?.close();
  });

  async function connect(env: Record<string, string>): Promise<string> {
    const config = loadConfig({ ELASTICSEARCH_URL: url, ELASTICSEARCH_REQUEST_TIMEOUT: '5s', ...env });
    const client = createClient(config.elasticsearch);
    try {
      return (await checkCluster(client, url)).version;
    } finally {
      await client.close();
    }
  }

  test('without a CA the self-signed chain is refused (verification is on by default)', async () => {
    await assert.rejects(connect({}), /self[- ]signed certificate|unable to verify|certificate/i);
  });

  test('with the CA file it connects', async () => {
    assert.match(await connect({ ELASTICSEARCH_CA_FILE: join(dir, 'ca.pem') }), /^\d+\.\d+\.\d+$/);
  });

  test('with the CA fingerprint it connects; with another fingerprint it is refused', async () => {
    const fingerprint = new X509Certificate(await readFile(join(dir, 'ca.pem'))).fingerprint256;
    assert.match(await connect({ ELASTICSEARCH_CA_FINGERPRINT: fingerprint }), /^\d+\.\d+\.\d+$/);
    const wrong = fingerprint.replace(/^[0-9A-F]{2}/, (h) => (h === 'AA' ? 'BB' : 'AA'));
    await assert.rejects(connect({ ELASTICSEARCH_CA_FINGERPRINT: wrong }), /fingerprint/i);
  });
});
