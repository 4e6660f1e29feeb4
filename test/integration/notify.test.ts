/**
 * Webhook notifications: a real HTTP receiver (a local server of the test's own) gets the new
 * alerts of an execution, generic or Slack-shaped; 503s are retried; a receiver that never
 * recovers is logged with the alert ids, and the alerts are in the index all the same.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebhookNotifier } from '../../src/alerts/notify.js';
import { indexEvents } from '../../src/demo/load.js';
import { generateDataset } from '../../src/demo/generate.js';
import { executeRule } from '../../src/scheduler/execute.js';
import { alertsIn, captureLogger, testEnv, type TestEnv } from '../helpers/es.js';
import { shippedRule } from '../helpers/rules.js';

interface Receiver { url: string; bodies: unknown[]; server: Server; failFirst: number }

async function receiver(failFirst: number): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], server: createServer(), failFirst };
  r.server.on('request', (req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      if (r.failFirst > 0) {
        r.failFirst--;
        res.writeHead(503).end();
        return;
      }
      r.bodies.push(JSON.parse(data));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(r.server.address() as { port: number }).port}/hook`;
  return r;
}

describe('webhook notifications', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
    const data = generateDataset({ seed: 31, start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 10, 1, 1), noiseEvents: 100, attacks: 3, hosts: 9, indices: {
      defendNetwork: `${env.prefix}-events-n`, defendProcess: `${env.prefix}-events-p`, winlogbeat: `${env.prefix}-events-w`,
    } });
    await indexEvents(env.client, data.events);
  });
  after(async () => env?.close());

  test('new alerts reach a global generic webhook (after two 503s) and a per-rule Slack one; duplicates are not sent again', async () => {
    const generic = await receiver(2);
    const slack = await receiver(0);
    try {
      const rule = await shippedRule({ indices: [`${env.prefix}-events-*`], webhooks: [{ url: slack.url, format: 'slack' }] });
      const notifier = new WebhookNotifier([{ url: generic.url, format: 'generic' }], captureLogger().logger, { attempts: 4, baseDelayMs: 20 });
      const window = { start: Date.UTC(2026, 10, 1) - 1000, end: Date.UTC(2026, 10, 1, 1) };
      await executeRule({ ...env.deps, notifier }, rule, window, 'once');
      await executeRule({ ...env.deps, notifier }, rule, window, 'once');
      assert.equal(generic.bodies.length, 1, 'one delivery: the second execution created nothing');
      const body = generic.bodies[0] as { rule: { rule_id: string }; count: number; alerts: { id: string; summary: { source_ip: string } }[] };
      assert.equal(body.rule.rule_id, rule.ruleId);
      assert.equal(body.count, 3);
      const ids = (await alertsIn(env.client, env.alertsIndex)).map((a) => a._id).sort();
      assert.deepEqual(body.alerts.map((a) => a.id).sort(), ids);
      assert.match((slack.bodies[0] as { text: string }).text, /^\*Lookout: 3 new alert\(s\) from Incoming Execution via WinRM Remote Shell\*\n• \[(medium\/47|high\/73)\]/);
    } finally {
      generic.server.close();
      slack.server.close();
    }
  });

  test('a receiver that never recovers: logged with the alert ids, alerts still written', async () => {
    const down = await receiver(1000);
    const { logger, lines } = captureLogger();
    try {
      const rule = await shippedRule({ ruleId: `hook-${env.prefix}`, indices: [`${env.prefix}-events-*`] });
      const notifier = new WebhookNotifier([{ url: down.url, format: 'generic' }], logger, { attempts: 3, baseDelayMs: 10 });
      const { record } = await executeRule({ ...env.deps, notifier }, rule, { start: Date.UTC(2026, 10, 1) - 1000, end: Date.UTC(2026, 10, 1, 1) }, 'once');
      assert.equal(record.status, 'succeeded');
      assert.equal(record.alertsWritten, 3);
      const err = lines().find((l) => String(l.message).startsWith('webhook to 127.0.0.1'));
      assert.ok(err, 'the failure is logged');
      assert.match(String(err!.message), /failed \(HTTP 503\); the alerts are in the index/);
      assert.equal((err!.alert_ids as string[]).length, 3);
    } finally {
      down.server.close();
    }
  });
});
