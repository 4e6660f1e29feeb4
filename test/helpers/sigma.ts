/** Sigma rules from YAML text, and in-memory runs over Winlogbeat-shaped events. */
import { MemoryAlertSink } from '../../src/alerts/writer.js';
import type { EventRecord } from '../../src/engine/events.js';
import { runRule } from '../../src/engine/run.js';
import type { Rule } from '../../src/rules/model.js';
import { SigmaLoader } from '../../src/sigma/load.js';
import { loadPipelines } from '../../src/sigma/pipeline.js';

const pipelines = loadPipelines();

/** A small Sigma rule (whoami.exe started) that the exception tests attach exceptions to, by its id. */
export const WHOAMI_SIGMA_ID = '0b7e1c52-5f6c-4a43-9d65-2b7f3b0d8e01';
export const WHOAMI_SIGMA = `title: Whoami
id: ${WHOAMI_SIGMA_ID}
status: test
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
level: low
`;

export function sigmaRules(yaml: string, file = 'test.yml'): { rules: Rule[]; errors: string[]; skipped: string[] } {
  const out = new SigmaLoader(pipelines).load(file, yaml);
  return {
    rules: out.flatMap((o) => ('rule' in o ? [o.rule] : [])),
    errors: out.flatMap((o) => ('error' in o ? [o.error.message] : [])),
    skipped: out.flatMap((o) => ('skipped' in o ? [o.skipped.reason] : [])),
  };
}

export function sigmaRule(yaml: string): Rule {
  const { rules, errors, skipped } = sigmaRules(yaml);
  if (rules.length !== 1) throw new Error(`expected one rule: ${[...errors, ...skipped].join('; ')}`);
  return rules[0];
}

let n = 0;
/** A Winlogbeat document (routed by its index to the windows-winlogbeat pipeline). */
export function wlb(ts: number, winlog: Record<string, unknown>, extra: Record<string, unknown> = {}): EventRecord {
  return { index: 'winlogbeat-test', id: `w${n++}`, timestamp: ts, source: { '@timestamp': new Date(ts).toISOString(), winlog, ...extra } };
}

export async function alertsOf(rule: Rule, events: EventRecord[]): Promise<Record<string, any>[]> {
  const sink = new MemoryAlertSink();
  await runRule({ ...rule, maxSignals: 10_000 }, [...events].sort((a, b) => a.timestamp - b.timestamp), sink, { now: new Date(0) });
  return sink.alerts.map((a) => a.doc as Record<string, any>);
}
