/**
 * The Windows golden fixtures (test/fixtures/windows, sources in its README): documents that
 * Winlogbeat, its ingest pipelines and Elastic Agent's integrations produced in their own
 * tests, each with the layout it is in and the data stream it lands in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './rules.js';

export type Layout = 'winlogbeat-raw' | 'winlogbeat8-ecs' | 'agent-windows' | 'agent-system' | 'defend';

export interface Fixture {
  readonly file: string;
  readonly layout: Layout;
  /** The data stream (or, for the raw layout, the index alias) it is written to. */
  readonly stream: string;
  readonly docs: readonly Record<string, any>[];
}

const LIST: readonly Omit<Fixture, 'docs'>[] = [
  { file: 'winlogbeat-raw-security-4688.json', layout: 'winlogbeat-raw', stream: 'winlogbeat-7.17.0' },
  { file: 'winlogbeat8-security-4688.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'winlogbeat8-security-4624.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'winlogbeat8-sysmon-1.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'winlogbeat8-sysmon-13.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'winlogbeat8-powershell-4104.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'winlogbeat8-powershell-4103.json', layout: 'winlogbeat8-ecs', stream: 'winlogbeat-8.15.0' },
  { file: 'agent-system-security-4688.json', layout: 'agent-system', stream: 'logs-system.security-default' },
  { file: 'agent-windows-sysmon-23.json', layout: 'agent-windows', stream: 'logs-windows.sysmon_operational-default' },
  { file: 'agent-windows-defender-1116.json', layout: 'agent-windows', stream: 'logs-windows.windows_defender-default' },
  { file: 'defend-process.json', layout: 'defend', stream: 'logs-endpoint.events.process-default' },
];

export const FIXTURE_DIR = join(REPO, 'test', 'fixtures', 'windows');

export function windowsFixtures(): Fixture[] {
  return LIST.map((f) => ({ ...f, docs: JSON.parse(readFileSync(join(FIXTURE_DIR, f.file), 'utf8')) as Record<string, any>[] }));
}

/** The name Elasticsearch gives a data stream's first backing index on a day. */
export function backingIndex(stream: string, day = '2026.11.26'): string {
  return `.ds-${stream}-${day}-000001`;
}
