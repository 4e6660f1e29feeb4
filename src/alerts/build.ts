/**
 * Alert documents, shaped like Elastic Security's: ECS fields of the source events at the top,
 * `kibana.alert.*` fields (flattened keys, as Kibana writes them) describing the rule and the
 * match, and `lookout.*` with what an analyst needs first (source IP, user, host, command line)
 * and the events of the sequence.
 *
 * The `_id` is a hash of the rule and its source events (index and id, in order), so the same
 * match found again (an overlapping look-back, a re-run, a backfill) always has the same id and
 * `create` refuses it. Severity and risk score mappings are applied from the match's events,
 * also for sequences (Elastic does not apply them to sequences). Copied source fields whose
 * value does not fit the alerts template are kept as JSON text instead (fit.ts).
 */
import { createHash } from 'node:crypto';
import type { RuleMatch } from '../engine/events.js';
import { compileGetter, type Primitive } from '../eql/fields.js';
import type { Rule, Severity } from '../rules/model.js';
import { KIBANA_RULE_TYPE_IDS } from '../rules/registry.js';
import { fitToTemplate } from './fit.js';

export interface AlertDocument {
  readonly id: string;
  readonly doc: Readonly<Record<string, unknown>>;
}

export interface AlertContext {
  /** When the alert is built (its @timestamp). */
  readonly now: Date;
  readonly executionId?: string;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

/** Fields the alert copies from events; they are fetched along with the rule's own fields. */
export const ALERT_SOURCE_FIELDS: readonly string[] = [
  '@timestamp', 'event', 'host', 'source', 'destination', 'user', 'process', 'network', 'agent',
  'winlog.computer_name', 'winlog.event_id', 'winlog.channel', 'winlog.event_data.TargetUserName', 'winlog.event_data.SubjectUserName',
  'winlog.event_data.TargetLogonId', 'winlog.event_data.NewProcessName', 'winlog.event_data.ParentProcessName',
  'winlog.event_data.CommandLine', 'winlog.event_data.IpAddress',
];

export function alertId(rule: Rule, match: RuleMatch): string {
  const h = createHash('sha256');
  h.update(rule.ruleId);
  // An aggregated match (rules/language.ts) is its entity, whatever events it carries.
  if (match.entity) h.update(`\nentity\u0000${match.entity.key}`);
  else for (const e of match.events) h.update(`\n${e.index}\u0000${e.id}`);
  return h.digest('hex');
}

function first(events: RuleMatch['events'], path: string, fromLast = false): Primitive | undefined {
  const get = compileGetter(path);
  const ordered = fromLast ? [...events].reverse() : events;
  for (const e of ordered) {
    const v = get(e.source)[0];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Severity and risk score after the rule's mappings, read from the match's events. */
export function severityOf(rule: Rule, match: RuleMatch): { severity: Severity; riskScore: number; overridden: boolean } {
  let severity = rule.severity;
  let riskScore = rule.riskScore;
  let overridden = false;
  for (const entry of rule.severityMapping) {
    const get = compileGetter(entry.field);
    const wanted = entry.value.toLowerCase();
    const hit = match.events.some((e) => get(e.source).some((v) => String(v).toLowerCase() === wanted));
    if (hit && (!overridden || SEVERITY_RANK[entry.severity] > SEVERITY_RANK[severity])) {
      severity = entry.severity;
      if (entry.riskScore !== undefined) riskScore = entry.riskScore;
      overridden = true;
    }
  }
  for (const entry of rule.riskScoreMapping) {
    const v = first(match.events, entry.field);
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (Number.isFinite(n) && n >= 0 && n <= 100) {
      riskScore = Math.round(n);
      overridden = true;
      break;
    }
  }
  return { severity, riskScore, overridden };
}

function pick(source: Readonly<Record<string, unknown>>, key: string): unknown {
  return source[key];
}

function mergedObject(events: RuleMatch['events'], key: string, fromLast: boolean): Record<string, unknown> | undefined {
  const ordered = fromLast ? [...events].reverse() : [...events];
  for (const e of ordered) {
    const v = pick(e.source, key);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  }
  return undefined;
}

function basename(v: Primitive | undefined): Primitive | undefined {
  if (typeof v !== 'string') return v;
  return v.split(/[\\/]/).pop();
}

export function buildAlert(rule: Rule, match: RuleMatch, ctx: AlertContext): AlertDocument {
  const id = alertId(rule, match);
  const events = match.events;
  // An aggregated match may carry no events: its entity gives the time.
  const firstTime = events.length > 0 ? events[0].timestamp : match.entity!.timestamp;
  const lastTime = events.length > 0 ? events[events.length - 1].timestamp : match.entity!.timestamp;
  const { severity, riskScore } = severityOf(rule, match);
  const sourceIp = first(events, 'source.ip') ?? first(events, 'winlog.event_data.IpAddress');
  const userName = first(events, 'user.name', true) ?? first(events, 'winlog.event_data.TargetUserName', true);
  const userDomain = first(events, 'user.domain', true);
  const hostName = first(events, 'host.name') ?? first(events, 'winlog.computer_name');
  const hostId = first(events, 'host.id');
  const commandLine = first(events, 'process.command_line', true) ?? first(events, 'winlog.event_data.CommandLine', true);
  const processName = first(events, 'process.name', true) ?? basename(first(events, 'winlog.event_data.NewProcessName', true));
  const parentName = first(events, 'process.parent.name', true) ?? basename(first(events, 'winlog.event_data.ParentProcessName', true));
  const user = userName === undefined ? undefined : userDomain === undefined ? String(userName) : `${userDomain}\\${userName}`;
  const name = rule.ruleNameOverride ? String(first(events, rule.ruleNameOverride) ?? rule.name) : rule.name;
  const what = processName !== undefined
    ? `process ${processName}${parentName !== undefined ? ` (parent ${parentName})` : ''}`
    : `${events.length} event(s)`;
  const corr = match.correlation;
  const style = rule.compiled.alert;
  const reason = corr
    ? `${corr.type} ${corr.value} within ${Math.round(corr.timespanMs / 60_000)}m` +
      `${Object.keys(corr.group).length > 0 ? ` for ${Object.entries(corr.group).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}` +
      ` (${corr.events} events) created ${severity} alert ${name}.`
    : `${style.noun} with ${what}` +
      `${sourceIp !== undefined ? ` from ${sourceIp}` : ''}${user !== undefined ? ` by ${user}` : ''}` +
      `${hostName !== undefined ? ` on ${hostName}` : ''} created ${severity} alert ${name}.`;
  const groupId = style.grouped || corr ? id.slice(0, 40) : undefined;
  const category = style.category;

  const doc: Record<string, unknown> = {
    '@timestamp': ctx.now.toISOString(),
    event: { kind: 'signal' },
    host: mergedObject(events, 'host', false),
    source: mergedObject(events, 'source', false),
    destination: mergedObject(events, 'destination', false),
    user: mergedObject(events, 'user', true),
    process: mergedObject(events, 'process', true),
    'kibana.alert.uuid': id,
    'kibana.alert.status': 'active',
    'kibana.alert.workflow_status': 'open',
    'kibana.alert.depth': 1,
    'kibana.alert.severity': severity,
    'kibana.alert.risk_score': riskScore,
    'kibana.alert.reason': reason,
    'kibana.alert.original_time': new Date(firstTime).toISOString(),
    'kibana.alert.start': ctx.now.toISOString(),
    'kibana.alert.last_detected': ctx.now.toISOString(),
    'kibana.alert.ancestors': events.map((e) => ({ id: e.id, index: e.index, type: 'event', depth: 0 })),
    'kibana.alert.rule.uuid': rule.ruleId,
    'kibana.alert.rule.rule_id': rule.ruleId,
    'kibana.alert.rule.name': name,
    'kibana.alert.rule.version': rule.version,
    'kibana.alert.rule.type': rule.type,
    'kibana.alert.rule.rule_type_id': KIBANA_RULE_TYPE_IDS[rule.type],
    'kibana.alert.rule.category': category,
    'kibana.alert.rule.description': rule.description,
    'kibana.alert.rule.severity': rule.severity,
    'kibana.alert.rule.risk_score': rule.riskScore,
    'kibana.alert.rule.from': `now-${Math.round(rule.lookbackMs / 1000)}s`,
    'kibana.alert.rule.interval': `${Math.round(rule.intervalMs / 1000)}s`,
    'kibana.alert.rule.max_signals': rule.maxSignals,
    'kibana.alert.rule.indices': rule.indices,
    'kibana.alert.rule.tags': rule.tags,
    'kibana.alert.rule.threat': rule.threat,
    'kibana.alert.rule.author': rule.author,
    'kibana.alert.rule.query': rule.query,
    'kibana.alert.rule.language': rule.language,
    'kibana.alert.rule.exceptions_list': rule.exceptions?.lists ?? rule.exceptionsList ?? [],
    'kibana.space_ids': ['default'],
    lookout: {
      summary: {
        source_ip: sourceIp ?? null,
        user: user ?? null,
        host: hostName ?? hostId ?? null,
        command_line: commandLine ?? null,
        process_name: processName ?? null,
        parent_process_name: parentName ?? null,
      },
      join_keys: match.joinKeys,
      ...(corr ? { correlation: corr } : {}),
      events: events.map((e) => ({ index: e.index, id: e.id, timestamp: new Date(e.timestamp).toISOString(), source: e.source })),
      last_event_time: new Date(lastTime).toISOString(),
      ...(match.entity ? { entity: match.entity.fields } : {}),
      ...(ctx.executionId ? { execution_id: ctx.executionId } : {}),
      rule_file: rule.file,
    },
  };
  if (groupId) {
    doc['kibana.alert.group.id'] = groupId;
    doc['kibana.alert.group.index'] = 0;
  }
  if (rule.buildingBlockType) doc['kibana.alert.building_block_type'] = rule.buildingBlockType;
  for (const [k, v] of Object.entries(match.entity?.alertFields ?? {})) doc[k] = v;
  for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
  // Copied fields that do not fit the alerts index are kept aside, never cost the alert.
  return { id, doc: fitToTemplate(doc) };
}
