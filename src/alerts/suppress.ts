/**
 * Alert suppression, as Kibana's detection engine does it (`alert_suppression` on a rule,
 * rules/suppression.ts): alerts of one group (the values of the rule's `group_by` fields) are
 * folded into one alert, which records the group (`kibana.alert.instance.id`, a hash of the rule
 * and the terms; `kibana.alert.suppression.terms`), the time of its first and last event
 * (`.start`, `.end`) and how many alerts it took in (`.docs_count`).
 *
 * The alerts index is the state: a group's open alert is found by a search on it (the latest
 * alert of the group not closed), so suppression holds across executions, processes and
 * restarts with nothing kept beside the alerts. Within one execution the groups are also kept in
 * memory, so batches of one execution fold into the alert an earlier batch wrote. An alert taken
 * in by an alert already written updates that document (docs_count, start, end,
 * last_detected); it is never written itself.
 *
 * - With `duration`: a new alert folds into the group's open alert when its event is less than
 *   `duration` after the open alert's first event (Kibana: the open alert was created less than
 *   `duration` before this execution; event time keeps backfills and replays the same).
 * - Without: only alerts of the same execution fold together (Kibana's per rule execution).
 * - An alert whose event lies between the start and the end of the group's alert from an
 *   earlier execution was counted already (an overlapping look-back reads it again): it is a
 *   duplicate, as in Kibana (which checks only the end). Its own alert id is checked before this
 *   too (run.ts), as for every alert. The alert looked up is the group's latest that starts no
 *   later than the batch's events, so a backfill of older data neither folds into nor is
 *   counted by a live alert of the same group.
 * - A group_by field an event lacks is a null term; under `doNotSuppress` such an alert is
 *   written on its own, without suppression fields (Kibana writes it as an unsuppressed alert).
 * - Values: several values of a field are one term, sorted (Kibana's EQL event queries and
 *   new_terms); for a sequence, a field's term is its value when every event of the sequence
 *   has the same value (same order), else null (Kibana takes the fields the sequence's events
 *   share); a threshold rule's group is its bucket's terms.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import type { RuleMatch } from '../engine/events.js';
import { compileGetter, type Primitive } from '../engine/fields.js';
import { errorMessage, SearchError } from '../errors.js';
import type { Rule } from '../rules/model.js';
import type { AlertSuppression } from '../rules/suppression.js';
import { statusOf } from '../search/client.js';
import type { AlertDocument } from './build.js';

export type TermValue = Primitive | null | readonly Primitive[];

export interface SuppressionTerm {
  readonly field: string;
  readonly value: TermValue;
}

/** The latest open alert of a group, as the alerts index has it. */
export interface OpenAlert {
  readonly id: string;
  readonly instanceId: string;
  readonly start: number;
  readonly end: number;
  readonly docsCount: number;
}

/** New suppression boundaries and count of an alert already written. */
export interface SuppressionUpdate {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly docsCount: number;
}

/** Where the open alerts of groups are found and updated (the alerts index, or memory). */
export interface SuppressionStore {
  /** The latest alert (by suppression start) of each group, not closed, whose suppression started in [since, until]. */
  latest(ruleId: string, instanceIds: readonly string[], since: number, until: number): Promise<Map<string, OpenAlert>>;
  /** Writes the updates; returns those it could not write, with the reason. */
  update(updates: readonly SuppressionUpdate[], now: Date): Promise<{ id: string; reason: string }[]>;
}

export const F = {
  instance: 'kibana.alert.instance.id',
  terms: 'kibana.alert.suppression.terms',
  start: 'kibana.alert.suppression.start',
  end: 'kibana.alert.suppression.end',
  count: 'kibana.alert.suppression.docs_count',
  lastDetected: 'kibana.alert.last_detected',
  workflow: 'kibana.alert.workflow_status',
  ruleId: 'kibana.alert.rule.rule_id',
} as const;

const compare = (a: Primitive, b: Primitive): number => (a === b ? 0 : a < b ? -1 : 1);

function termOf(values: readonly Primitive[]): TermValue {
  if (values.length === 0) return null;
  return values.length === 1 ? values[0] : Object.freeze([...values].sort(compare));
}

/** The terms of a match's group (Kibana's suppression terms). */
export function suppressionTerms(s: AlertSuppression, match: RuleMatch): SuppressionTerm[] {
  const entity = match.entity?.fields as Record<string, unknown> | undefined;
  const bucket = Array.isArray(entity?.terms) ? (entity.terms as { field?: unknown; value?: unknown }[]) : undefined;
  if (s.groupBy.length === 0) {
    // A threshold rule: its bucket is the group.
    if (bucket) return bucket.map((t) => ({ field: String(t.field), value: (t.value ?? null) as TermValue }));
    return [{ field: 'bucket', value: match.entity?.key ?? null }];
  }
  return s.groupBy.map((field) => {
    if (match.events.length === 0) {
      const fromBucket = bucket?.find((t) => t.field === field);
      const v = fromBucket ? fromBucket.value : entity?.[field];
      return { field, value: (v ?? null) as TermValue };
    }
    const get = compileGetter(field);
    if (match.events.length === 1) return { field, value: termOf(get(match.events[0].source)) };
    const each = match.events.map((e) => get(e.source));
    const same = each.every((v) => JSON.stringify(v) === JSON.stringify(each[0]));
    const value: TermValue = !same || each[0].length === 0 ? null : each[0].length === 1 ? each[0][0] : Object.freeze([...each[0]]);
    return { field, value };
  });
}

export function instanceId(ruleId: string, terms: readonly SuppressionTerm[]): string {
  return createHash('sha256').update(JSON.stringify([ruleId, terms])).digest('hex');
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The alert with its suppression fields (docs_count 0: it stands for itself so far), or as it
 * is when a group_by field is missing and the rule does not suppress those.
 */
export function withSuppression(rule: Rule, alert: AlertDocument, match: RuleMatch): AlertDocument {
  const s = rule.alertSuppression;
  if (!s) return alert;
  const terms = suppressionTerms(s, match);
  if (s.missingFields === 'doNotSuppress' && terms.some((t) => t.value === null)) return alert;
  const start = match.events.length > 0 ? match.events[0].timestamp : match.entity?.timestamp ?? Date.parse(String(alert.doc['kibana.alert.original_time']));
  const end = match.events.length > 0 ? match.events[match.events.length - 1].timestamp : start;
  return {
    id: alert.id,
    doc: { ...alert.doc, [F.instance]: instanceId(rule.ruleId, terms), [F.terms]: terms, [F.start]: iso(start), [F.end]: iso(end), [F.count]: 0 },
  };
}

interface Group {
  /** The alert that stands for the group. */
  readonly id: string;
  start: number;
  end: number;
  docsCount: number;
  /** Created by this execution (only these take alerts in when suppression is per execution). */
  readonly fromRun: boolean;
  /** The end the index had when this execution found the alert: events up to it were counted. */
  readonly priorEnd?: number;
  /** Not written yet: its document is among the alerts being selected. */
  pending: boolean;
}

export interface Folded {
  /** Alerts to write (the cap applies to these). */
  readonly creates: AlertDocument[];
  /** Alerts already written that took new ones in. */
  readonly updates: SuppressionUpdate[];
  /** Alerts taken into another. */
  readonly suppressed: number;
  /** Alerts whose event an earlier execution's alert of the group counted already. */
  readonly counted: number;
}

/** One rule execution's folding: the groups it has seen, in memory, over the alerts index. */
export class Suppressor {
  private readonly groups = new Map<string, Group>();
  private readonly windowMs: number;

  constructor(private readonly rule: Rule, private readonly s: AlertSuppression, private readonly store: SuppressionStore | undefined) {
    // Per execution, an earlier execution's alert only tells what was counted: look back as far as a window reads.
    this.windowMs = s.durationMs ?? rule.lookbackMs + rule.intervalMs;
  }

  /** Folds a batch of alerts (new by id, built withSuppression) into groups. */
  async fold(batch: readonly AlertDocument[]): Promise<Folded> {
    const times = (a: AlertDocument) => ({ start: Date.parse(String(a.doc[F.start])), end: Date.parse(String(a.doc[F.end])) });
    const unknown = new Set<string>();
    let since = Infinity;
    let until = -Infinity;
    for (const a of batch) {
      const iid = a.doc[F.instance];
      if (typeof iid !== 'string' || this.groups.has(iid)) continue;
      unknown.add(iid);
      since = Math.min(since, times(a).start - this.windowMs);
      until = Math.max(until, times(a).start);
    }
    if (unknown.size > 0 && this.store) {
      // Not after the batch's events: a backfill of older data does not meet the live alerts.
      const found = await this.store.latest(this.rule.ruleId, [...unknown], since, until);
      for (const [iid, open] of found) {
        this.groups.set(iid, { id: open.id, start: open.start, end: open.end, docsCount: open.docsCount, fromRun: false, priorEnd: open.end, pending: false });
      }
    }
    const creates: AlertDocument[] = [];
    const pendingOf = new Map<number, Group>();
    const updated = new Set<Group>();
    let suppressed = 0;
    let counted = 0;
    for (const a of batch) {
      const iid = a.doc[F.instance];
      if (typeof iid !== 'string') {
        creates.push(a);
        continue;
      }
      const { start, end } = times(a);
      const g = this.groups.get(iid);
      // Counted by an earlier execution: within what its alert took in (an event before the alert's start was not).
      if (g && !g.fromRun && g.priorEnd !== undefined && start >= g.start && start <= g.priorEnd) {
        counted++;
        continue;
      }
      const takes = g !== undefined && (this.s.durationMs === undefined ? g.fromRun : start - g.start <= this.s.durationMs && (g.fromRun || start >= g.start));
      if (g && takes) {
        g.docsCount += 1 + Number(a.doc[F.count] ?? 0);
        g.start = Math.min(g.start, start);
        g.end = Math.max(g.end, end);
        suppressed++;
        if (!g.pending) updated.add(g);
        continue;
      }
      const created: Group = { id: a.id, start, end, docsCount: Number(a.doc[F.count] ?? 0), fromRun: true, pending: true };
      this.groups.set(iid, created);
      pendingOf.set(creates.length, created);
      creates.push(a);
    }
    for (const [index, g] of pendingOf) {
      creates[index] = { id: g.id, doc: { ...creates[index].doc, [F.start]: iso(g.start), [F.end]: iso(g.end), [F.count]: g.docsCount } };
    }
    const updates = [...updated].map((g) => ({ id: g.id, start: g.start, end: g.end, docsCount: g.docsCount }));
    return { creates, updates, suppressed, counted };
  }

  /**
   * What happened to the alerts `fold` asked to create: those written stand for their groups
   * from now on; the others (over the cap, refused) are forgotten, so the next batch asks the
   * index again.
   */
  settle(asked: readonly AlertDocument[], written: ReadonlySet<string>): void {
    for (const a of asked) {
      const iid = a.doc[F.instance];
      if (typeof iid !== 'string') continue;
      const g = this.groups.get(iid);
      if (!g || g.id !== a.id) continue;
      if (written.has(a.id)) g.pending = false;
      else this.groups.delete(iid);
    }
  }

  async update(updates: readonly SuppressionUpdate[], now: Date): Promise<{ id: string; reason: string }[]> {
    if (updates.length === 0) return [];
    if (!this.store) return updates.map((u) => ({ id: u.id, reason: 'the alert sink cannot update alerts' }));
    return this.store.update(updates, now);
  }
}

/** Open alerts in, and updates to, an Elasticsearch alerts index. */
export class ElasticSuppressionStore implements SuppressionStore {
  constructor(private readonly client: Client, private readonly index: string) {}

  async latest(ruleId: string, instanceIds: readonly string[], since: number, until: number): Promise<Map<string, OpenAlert>> {
    const out = new Map<string, OpenAlert>();
    if (instanceIds.length === 0) return out;
    try {
      // A search sees what was refreshed: alerts written by the previous execution must be.
      await this.client.indices.refresh({ index: this.index, ignore_unavailable: true });
      const res = await this.client.search<Record<string, unknown>>({
        index: this.index, ignore_unavailable: true, size: instanceIds.length,
        query: { bool: {
          filter: [
            { term: { [F.ruleId]: ruleId } },
            { terms: { [F.instance]: [...instanceIds] } },
            { range: { [F.start]: { gte: iso(since), lte: iso(until) } } },
          ],
          must_not: [{ term: { [F.workflow]: 'closed' } }],
        } },
        collapse: { field: F.instance },
        sort: [{ [F.start]: { order: 'desc' } }],
        _source: [F.instance, F.start, F.end, F.count],
      });
      for (const hit of res.hits.hits) {
        const src = hit._source ?? {};
        const iid = String(src[F.instance]);
        out.set(iid, { id: hit._id!, instanceId: iid, start: Date.parse(String(src[F.start])), end: Date.parse(String(src[F.end])), docsCount: Number(src[F.count] ?? 0) });
      }
      return out;
    } catch (err) {
      throw new SearchError(`cannot look up suppressing alerts in ${this.index}: ${errorMessage(err)}`, { statusCode: statusOf(err), cause: err });
    }
  }

  async update(updates: readonly SuppressionUpdate[], now: Date): Promise<{ id: string; reason: string }[]> {
    const operations = updates.flatMap((u) => [
      { update: { _index: this.index, _id: u.id, retry_on_conflict: 3 } },
      { doc: { [F.start]: iso(u.start), [F.end]: iso(u.end), [F.count]: u.docsCount, [F.lastDetected]: now.toISOString() } },
    ]);
    try {
      const res = await this.client.bulk({ operations });
      return res.items.flatMap((item, i) => {
        const r = item.update;
        return r && r.status >= 300 ? [{ id: updates[i].id, reason: `${r.status} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}` }] : [];
      });
    } catch (err) {
      return updates.map((u) => ({ id: u.id, reason: errorMessage(err) }));
    }
  }
}

/** The same over alerts kept in memory (`lookout test-rule`, tests). */
export class MemorySuppressionStore implements SuppressionStore {
  constructor(private readonly alerts: AlertDocument[]) {}

  async latest(ruleId: string, instanceIds: readonly string[], since: number, until: number): Promise<Map<string, OpenAlert>> {
    const wanted = new Set(instanceIds);
    const out = new Map<string, OpenAlert>();
    for (const { id, doc } of this.alerts) {
      const iid = doc[F.instance];
      if (typeof iid !== 'string' || !wanted.has(iid) || doc[F.ruleId] !== ruleId || doc[F.workflow] === 'closed') continue;
      const start = Date.parse(String(doc[F.start]));
      if (start < since || start > until || (out.get(iid)?.start ?? -Infinity) > start) continue;
      out.set(iid, { id, instanceId: iid, start, end: Date.parse(String(doc[F.end])), docsCount: Number(doc[F.count] ?? 0) });
    }
    return out;
  }

  async update(updates: readonly SuppressionUpdate[], now: Date): Promise<{ id: string; reason: string }[]> {
    const failed: { id: string; reason: string }[] = [];
    for (const u of updates) {
      const i = this.alerts.findIndex((a) => a.id === u.id);
      if (i < 0) {
        failed.push({ id: u.id, reason: 'not found' });
        continue;
      }
      this.alerts[i] = { id: u.id, doc: { ...this.alerts[i].doc, [F.start]: iso(u.start), [F.end]: iso(u.end), [F.count]: u.docsCount, [F.lastDetected]: now.toISOString() } };
    }
    return failed;
  }
}
