import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertId, buildAlert, severityOf } from '../../src/alerts/build.js';
import type { RuleMatch } from '../../src/engine/events.js';
import { shippedRule } from '../helpers/rules.js';

const network = { index: 'logs-endpoint.events.network-x', id: 'n1', timestamp: Date.parse('2026-11-25T10:00:00Z'), source: {
  '@timestamp': '2026-11-25T10:00:00Z', event: { category: ['network'] }, host: { id: 'h1', name: 'target01' },
  source: { ip: '10.0.5.23', port: 50000 }, destination: { port: 5985 }, process: { pid: 4 },
} };
const child = (name: string, user: Record<string, unknown> = { name: 'eve', domain: 'CORP' }) => ({
  index: 'logs-endpoint.events.process-x', id: `p-${name}`, timestamp: Date.parse('2026-11-25T10:00:02Z'), source: {
    '@timestamp': '2026-11-25T10:00:02Z', event: { category: ['process'], type: ['start'] }, host: { id: 'h1', name: 'target01' },
    user, process: { name, command_line: `${name} /all`, parent: { name: 'winrshost.exe' } },
  },
});

describe('alert documents', async () => {
  const rule = await shippedRule();
  const match = (name: string): RuleMatch => ({ events: [network, child(name)], joinKeys: ['h1'] });

  test('carry the kibana.alert fields and what the analyst needs first', () => {
    const { id, doc } = buildAlert(rule, match('ipconfig.exe'), { now: new Date('2026-11-25T10:05:00Z'), executionId: 'x1' });
    const d = doc as Record<string, any>;
    assert.equal(d['kibana.alert.rule.rule_id'], rule.ruleId);
    assert.equal(d['kibana.alert.rule.name'], rule.name);
    assert.equal(d['kibana.alert.rule.version'], 214);
    // Kibana writes the security rule type and, apart, its alerting rule type id; the language on its own.
    assert.equal(d['kibana.alert.rule.type'], 'eql');
    assert.equal(d['kibana.alert.rule.rule_type_id'], 'siem.eqlRule');
    assert.equal(d['kibana.alert.rule.language'], 'eql');
    assert.equal(d['kibana.alert.rule.category'], 'Event Correlation Rule');
    assert.equal(d['kibana.alert.severity'], 'medium');
    assert.equal(d['kibana.alert.risk_score'], 47);
    assert.equal(d['kibana.alert.original_time'], '2026-11-25T10:00:00.000Z');
    assert.equal(d['kibana.alert.uuid'], id);
    assert.equal(d['kibana.alert.status'], 'active');
    assert.equal(d['kibana.alert.workflow_status'], 'open');
    assert.deepEqual(d['kibana.alert.ancestors'], [
      { id: 'n1', index: 'logs-endpoint.events.network-x', type: 'event', depth: 0 },
      { id: 'p-ipconfig.exe', index: 'logs-endpoint.events.process-x', type: 'event', depth: 0 },
    ]);
    assert.equal(typeof d['kibana.alert.group.id'], 'string');
    assert.deepEqual(d.lookout.summary, {
      source_ip: '10.0.5.23', user: 'CORP\\eve', host: 'target01', command_line: 'ipconfig.exe /all', process_name: 'ipconfig.exe', parent_process_name: 'winrshost.exe',
    });
    assert.match(d['kibana.alert.reason'], /from 10\.0\.5\.23 by CORP\\eve on target01/);
    assert.equal(d.source.ip, '10.0.5.23');
    assert.equal(d.process.name, 'ipconfig.exe');
  });

  test('the id depends on the rule and the source events only', () => {
    const a = buildAlert(rule, match('x.exe'), { now: new Date(1) }).id;
    const b = buildAlert(rule, match('x.exe'), { now: new Date(2) }).id;
    assert.equal(a, b);
    assert.notEqual(a, alertId({ ...rule, ruleId: 'other' }, match('x.exe')));
    assert.notEqual(a, alertId(rule, { events: [child('x.exe'), network], joinKeys: [] }));
  });

  test('severity mapping: sensitive tools are high with risk 73, others keep medium 47', () => {
    for (const name of ['cmd.exe', 'powershell.exe', 'pwsh.exe', 'mimikatz.exe', 'CMD.EXE']) {
      assert.deepEqual(severityOf(rule, match(name)), { severity: 'high', riskScore: 73, overridden: true }, name);
    }
    for (const name of ['whoami.exe', 'cmd.exe.bak', 'notcmd.exe']) {
      assert.deepEqual(severityOf(rule, match(name)), { severity: 'medium', riskScore: 47, overridden: false }, name);
    }
  });

  test('risk_score_mapping reads the score from an event field', () => {
    const r = { ...rule, severityMapping: [], riskScoreMapping: [{ field: 'event.risk_score' }] };
    const m: RuleMatch = { events: [{ ...network, source: { ...network.source, event: { category: ['network'], risk_score: 88 } } }], joinKeys: [] };
    assert.equal(severityOf(r, m).riskScore, 88);
  });
});
