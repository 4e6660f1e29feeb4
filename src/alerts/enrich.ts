/**
 * Alert enrichments, by name, from a registry: a rule lists the ones it wants (Sigma:
 * `lookout: { enrich: [windows_logon_source] }`). They run on new alerts only, just before they
 * are written. One that fails leaves the alert as it was and says so in the alert: an
 * enrichment never costs an alert.
 *
 * windows_logon_source: the source of the logon sessions behind Security 4688 process
 * creations. Each 4688 event's TargetLogonId is looked up among 4624 logon events with the same
 * TargetLogonId (in the rule's Winlogbeat indices), giving the source IP, workstation, user and
 * logon type: where the WinRM session came from.
 */
import type { Client } from '@elastic/elasticsearch';
import { compileGetter } from '../eql/fields.js';
import type { Rule } from '../rules/model.js';
import type { AlertDocument } from './build.js';

export type Enricher = (alerts: readonly AlertDocument[]) => Promise<AlertDocument[]>;
type EnrichmentFactory = (client: Client, rule: Rule) => Enricher;

interface Logon {
  logon_id: string;
  source_ip: string | null;
  workstation: string | null;
  user: string | null;
  logon_type: string | number | null;
  time: string | null;
}

const logonId = compileGetter('winlog.event_data.TargetLogonId');

const present = (v: unknown): string | null => (v !== undefined && v !== null && v !== '' && v !== '-' ? String(v) : null);

const windowsLogonSource: EnrichmentFactory = (client, rule) => async (alerts) => {
  const idsOf = (a: AlertDocument): string[] => {
    const events = ((a.doc.lookout as { events?: { source: unknown }[] })?.events ?? []);
    return [...new Set(events.flatMap((e) => logonId(e.source).map(String)))];
  };
  const all = [...new Set(alerts.flatMap(idsOf))];
  if (all.length === 0) return [...alerts];
  const res = await client.search<Record<string, any>>({
    index: rule.indices.join(','),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 1000,
    query: { bool: { filter: [
      { bool: { should: [{ term: { 'winlog.event_id': 4624 } }, { term: { 'winlog.event_id': '4624' } }], minimum_should_match: 1 } },
      { terms: { 'winlog.event_data.TargetLogonId': all } },
    ] } } as never,
    // Winlogbeat 8's and Elastic Agent's security pipeline move IpAddress and WorkstationName to source.*.
    _source: ['@timestamp', 'winlog.event_data', 'source.ip', 'source.domain'],
  });
  const byId = new Map<string, Logon>();
  for (const h of res.hits.hits) {
    const d = h._source?.winlog?.event_data ?? {};
    const id = String(d.TargetLogonId);
    if (!byId.has(id)) {
      byId.set(id, {
        logon_id: id,
        source_ip: present(d.IpAddress ?? h._source?.source?.ip),
        workstation: present(d.WorkstationName ?? h._source?.source?.domain),
        user: d.TargetUserName ? `${d.TargetDomainName ? `${d.TargetDomainName}\\` : ''}${d.TargetUserName}` : null,
        logon_type: d.LogonType ?? null,
        time: h._source?.['@timestamp'] ?? null,
      });
    }
  }
  return alerts.map((a) => {
    const logons = idsOf(a).map((id) => byId.get(id)).filter((l): l is Logon => l !== undefined);
    const lookout = { ...(a.doc.lookout as Record<string, unknown>) };
    const summary = { ...(lookout.summary as Record<string, unknown>) };
    if (summary.source_ip === null) summary.source_ip = logons.find((l) => l.source_ip)?.source_ip ?? null;
    lookout.summary = summary;
    lookout.enrichment = { ...(lookout.enrichment as object), windows_logon_source: { logons, sources: [...new Set(logons.map((l) => l.source_ip).filter(Boolean))] } };
    return { id: a.id, doc: { ...a.doc, lookout } };
  });
};

export const ENRICHMENTS: ReadonlyMap<string, EnrichmentFactory> = new Map([['windows_logon_source', windowsLogonSource]]);

/** One enricher for a rule's enrichments; failures are recorded on the alert, never thrown. */
export function enricherFor(client: Client, rule: Rule): Enricher | undefined {
  if (rule.enrichments.length === 0) return undefined;
  const steps = rule.enrichments.map((name) => {
    const f = ENRICHMENTS.get(name);
    return { name, run: f ? f(client, rule) : undefined };
  });
  return async (alerts) => {
    let out = [...alerts];
    for (const step of steps) {
      try {
        if (!step.run) throw new Error(`unknown enrichment '${step.name}' (known: ${[...ENRICHMENTS.keys()].join(', ')})`);
        out = await step.run(out);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        out = out.map((a) => ({ id: a.id, doc: { ...a.doc, lookout: { ...(a.doc.lookout as object), enrichment_errors: [...(((a.doc.lookout as { enrichment_errors?: string[] }).enrichment_errors) ?? []), `${step.name}: ${message}`] } } }));
      }
    }
    return out;
  };
}
