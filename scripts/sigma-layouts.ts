/**
 * Per data layout, whether every field a Sigma rule uses resolves there: for the layout section
 * of docs/sigma-report.md. A layout is the pipeline a rule runs on there and the event data
 * fields the ingest pipelines of that layout leave in `winlog.event_data` (the rest they move,
 * split or drop; learnt from elastic/beats x-pack/winlogbeat/module/{sysmon,security,powershell}
 * ingest pipelines and golden files, and elastic/integrations packages/windows and
 * packages/system). A Sigma field resolves when one of its candidates is a field the layout
 * writes: an event data field it keeps, or an ECS field (or template) its pipelines produce.
 */
import type { Rule } from '../src/rules/model.js';
import { asSigma } from '../src/sigma/compiled.js';

/** Event data fields Winlogbeat 8's and Elastic Agent's ingest pipelines move out of winlog.event_data or drop. */
const MOVED_BY_PIPELINES = new Set([
  // sysmon.yml
  'Image', 'SourceImage', 'Destination', 'CommandLine', 'CurrentDirectory', 'ParentImage', 'ParentCommandLine', 'OriginalFileName',
  'ProcessGuid', 'SourceProcessGuid', 'SourceProcessGUID', 'ParentProcessGuid', 'ProcessId', 'SourceProcessId', 'SourceThreadId', 'ParentProcessId',
  'Hashes', 'Hash', 'TargetFilename', 'Device', 'PipeName', 'ImageLoaded', 'Protocol', 'DestinationPortName', 'SourcePortName', 'SourceIp',
  'SourceHostname', 'SourcePort', 'DestinationIp', 'DestinationHostname', 'DestinationPort', 'QueryName', 'QueryResults', 'QueryStatus',
  'Archived', 'IsExecutable', 'User', 'RuleName', 'Initiated', 'SourceIsIpv6', 'DestinationIsIpv6', 'UtcTime', 'TargetObject', 'Details', 'TargetProcessGuid',
  // security.yml (4688, logons)
  'NewProcessName', 'ParentProcessName', 'NewProcessId', 'ProcessName', 'IpAddress', 'IpPort', 'WorkstationName',
  // powershell.yml, powershell_operational.yml
  'ScriptBlockText', 'ScriptBlockId', 'Path', 'MessageNumber', 'MessageTotal', 'Payload', 'ContextInfo', 'param1', 'param2', 'param3', 'Data', 'HostApplication',
]);

export interface Layout {
  readonly name: string;
  readonly pipeline: string;
  /** Whether the layout writes this candidate field (a template or value map reads `reads`). */
  has(field: string): boolean;
}

const eventData = /^winlog\.(event_data|user_data)\.(.+)$/;

export const LAYOUTS: readonly Layout[] = [
  {
    name: 'Winlogbeat without ingest pipelines (through Logstash)',
    pipeline: 'windows-winlogbeat',
    has: (f) => f.startsWith('winlog.') || f === 'message',
  },
  {
    name: 'Winlogbeat 7.x/8.x with its ingest pipelines (ECS)',
    pipeline: 'windows-winlogbeat',
    has: (f) => {
      const m = eventData.exec(f);
      return m ? !MOVED_BY_PIPELINES.has(m[2]) : true;
    },
  },
  {
    name: 'Elastic Agent Windows and System integrations',
    pipeline: 'windows-winlogbeat',
    has: (f) => {
      const m = eventData.exec(f);
      return m ? !MOVED_BY_PIPELINES.has(m[2]) : true;
    },
  },
  { name: 'Elastic Defend (logs-endpoint.events.*)', pipeline: 'windows-ecs', has: (f) => !f.startsWith('winlog.') },
];

/** For one layout: whether the rule runs there, and whether every Sigma field it uses resolves there. */
export function layoutCoverage(rule: Rule, layout: Layout, rawOnly = false): { runs: boolean; resolves: boolean; unresolved: string[] } {
  const c = asSigma(rule.compiled);
  if (c === null) return { runs: false, resolves: false, unresolved: [] };
  const route = c.routes.find((r) => r.pipeline === layout.pipeline);
  if (!route) return { runs: false, resolves: false, unresolved: [] };
  const unresolved = new Set<string>();
  for (const d of route.detections.values()) {
    for (const [field, candidates] of d.sigmaFields) {
      // rawOnly: as the mapping was before field resolution (the event data field alone).
      const reads = rawOnly ? candidates.slice(0, 1) : candidates;
      if (!reads.some((f) => layout.has(f))) unresolved.add(field);
    }
  }
  return { runs: true, resolves: unresolved.size === 0, unresolved: [...unresolved] };
}
