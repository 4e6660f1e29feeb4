/**
 * Loads Sigma rules from YAML (.yml/.yaml): detection rules, rules with the deprecated v1
 * aggregation in their condition, and v2 correlation rules with the rules they correlate in the
 * same file (separated by ---). YAML errors and schema errors carry the file, line and column
 * (positions come from the YAML parser). A rule runs on every field mapping pipeline that fits
 * its logsource; a rule that fits none is refused with each pipeline's reason.
 */
import { createHash } from 'node:crypto';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { parseDuration, parseLookback } from '../config/duration.js';
import type { CorrelationSpec } from '../engine/correlation.js';
import type { Getter } from '../eql/fields.js';
import { compileWildcard } from '../eql/wildcard.js';
import { RuleLoadError } from '../errors.js';
import type { LineOutcome } from '../rules/kibana-ndjson.js';
import type { Rule, Severity } from '../rules/model.js';
import { anyOf, type Pushdown, type Translation } from '../search/pushdown.js';
import type { CompiledSigma, SigmaRoute } from './compiled.js';
import { SigmaMatcher } from '../engine/sigma-matcher.js';
import type { AlertStyle } from '../rules/language.js';

const SIGMA_STYLE: AlertStyle = { category: 'Sigma Rule', noun: 'event', grouped: false };
const SIGMA_CORRELATION_STYLE: AlertStyle = { category: 'Sigma Correlation Rule', noun: 'event', grouped: false };
import { ConditionError, parseCondition, type Aggregation, type Condition } from './condition.js';
import { compileDetection, DetectionError, type CompiledDetection } from './detection.js';
import { logsourceConditions, mapField, type PipelineSet } from './pipeline.js';
import { resolution } from './resolve.js';
import { correlationRuleSchema, detectionRuleSchema, type CorrelationRuleDoc, type DetectionRuleDoc } from './schema.js';

const SEVERITY: Readonly<Record<string, Severity>> = { informational: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };
const RISK: Readonly<Record<Severity, number>> = { low: 21, medium: 47, high: 73, critical: 99 };

interface Located {
  readonly doc: Document;
  readonly data: Record<string, unknown>;
  readonly lines: LineCounter;
}

function position(d: Located, path: readonly (string | number)[]): { line?: number; column?: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = d.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    // A scalar's own node; for a map or list, the key's line is closer to what the author wrote.
    const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
    if (range) {
      const { line, col } = d.lines.linePos(range[0]);
      return { line, column: col };
    }
  }
  return {};
}

function keyPosition(d: Located, path: readonly (string | number)[]): { line?: number; column?: number } {
  // The position of the key `path[last]` inside its parent map, when it is a key.
  const parent = d.doc.getIn(path.slice(0, -1), true) as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined;
  const last = path[path.length - 1];
  const pair = parent?.items?.find((it) => it.key && it.key.value === last);
  if (pair?.key?.range) {
    const { line, col } = d.lines.linePos(pair.key.range[0]);
    return { line, column: col };
  }
  return position(d, path);
}

function parseTimespan(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)([smhdMy])$/.exec(text.trim());
  if (!m) return parseDuration(text);
  const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, M: 30 * 86_400_000, y: 365 * 86_400_000 };
  return Number(m[1]) * units[m[2]];
}

interface Detection {
  readonly name: string;
  readonly located: Located;
  readonly rule: DetectionRuleDoc;
  readonly condition: Condition;
  readonly aggregation?: Aggregation;
}

function sigmaFieldsOf(routes: readonly SigmaRoute[]): Map<string, readonly string[]> {
  const out = new Map<string, Set<string>>();
  for (const r of routes) {
    for (const d of r.detections.values()) {
      for (const [f, reads] of d.sigmaFields) {
        if (!out.has(f)) out.set(f, new Set());
        reads.forEach((x) => out.get(f)!.add(x));
      }
    }
  }
  return new Map([...out].map(([f, s]) => [f, [...s]]));
}

export class SigmaLoader {
  constructor(private readonly pipelines: PipelineSet) {}

  load(file: string, text: string): LineOutcome[] {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
    const out: LineOutcome[] = [];
    const located: Located[] = [];
    for (const doc of (Array.isArray(docs) ? docs : [docs]) as Document[]) {
      if (doc.errors.length > 0) {
        const e = doc.errors[0];
        return [{ error: new RuleLoadError(file, `YAML syntax error: ${e.message.split('\n')[0]}`, { line: e.linePos?.[0].line, column: e.linePos?.[0].col, cause: e }) }];
      }
      let data: unknown;
      try {
        data = doc.toJS();
      } catch (err) {
        // e.g. an alias to an anchor that is not set
        const at = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
        const { line, col } = lines.linePos(at);
        return [{ error: new RuleLoadError(file, `YAML error: ${(err as Error).message}`, { line, column: col, cause: err }) }];
      }
      if (data === null || data === undefined) continue;
      if (typeof data !== 'object' || Array.isArray(data)) {
        return [{ error: new RuleLoadError(file, 'a Sigma rule must be a YAML map', { line: 1, column: 1 }) }];
      }
      located.push({ doc, data: data as Record<string, unknown>, lines });
    }
    const detections = new Map<string, Detection>();
    const correlations: Located[] = [];
    for (const d of located) {
      // A v2 correlation rule has a correlation map; some rules use `correlation:` for a note.
      const corr = d.data.correlation;
      if (corr && typeof corr === 'object' && !Array.isArray(corr)) {
        correlations.push(d);
        continue;
      }
      try {
        const det = this.detection(file, d);
        for (const key of [det.rule.name, det.rule.id, det.rule.title].filter((k): k is string => !!k)) detections.set(key, det);
      } catch (err) {
        out.push({ error: err as RuleLoadError });
      }
    }
    const referenced = new Set<Detection>();
    for (const c of correlations) {
      try {
        const result = this.correlation(file, c, detections);
        result.used.forEach((d) => referenced.add(d));
        out.push(result.outcome);
      } catch (err) {
        if (err instanceof RuleLoadError) out.push({ error: err });
        else throw err;
      }
    }
    for (const det of new Set(detections.values())) {
      if (referenced.has(det)) continue;
      try {
        // With an aggregation, single events do not alert: only the aggregation does.
        out.push(this.build(file, det.located, det.rule, [det], det.aggregation ? this.aggregationSpec(file, det) : null, det.aggregation ? [] : ['main']));
      } catch (err) {
        if (err instanceof RuleLoadError) out.push({ error: err });
        else throw err;
      }
    }
    return out;
  }

  private fail(file: string, d: Located, path: readonly (string | number)[], message: string, atKey = false): never {
    const pos = atKey ? keyPosition(d, path) : position(d, path);
    throw new RuleLoadError(file, `${path.join('.')}: ${message}`, pos);
  }

  private detection(file: string, d: Located): Detection {
    const parsed = detectionRuleSchema.safeParse(d.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.fail(file, d, issue.path as (string | number)[], issue.message, true);
    }
    const rule = parsed.data;
    const cond = rule.detection.condition;
    if (cond === undefined) this.fail(file, d, ['detection'], 'needs a condition', true);
    const conditions = Array.isArray(cond) ? cond : [cond];
    if (conditions.some((c) => typeof c !== 'string')) this.fail(file, d, ['detection', 'condition'], 'must be a string or a list of strings');
    let parsedConds;
    try {
      parsedConds = (conditions as string[]).map((c) => parseCondition(c));
    } catch (err) {
      if (err instanceof ConditionError) this.fail(file, d, ['detection', 'condition'], err.message);
      throw err;
    }
    const aggregations = parsedConds.filter((p) => p.aggregation);
    if (aggregations.length > 0 && parsedConds.length > 1) this.fail(file, d, ['detection', 'condition'], 'an aggregation needs a single condition');
    const condition: Condition = parsedConds.length === 1 ? parsedConds[0].condition : { kind: 'or', items: parsedConds.map((p) => p.condition) };
    return { name: rule.name ?? rule.id ?? rule.title, located: d, rule, condition, aggregation: parsedConds[0].aggregation };
  }

  private aggregationSpec(file: string, det: Detection): CorrelationSpec {
    const agg = det.aggregation!;
    const tf = det.rule.detection.timeframe;
    const timespanMs = typeof tf === 'string' ? parseTimespan(tf) : undefined;
    if (!timespanMs) this.fail(file, det.located, ['detection', 'timeframe'], 'an aggregation needs a timeframe like 15m', true);
    return {
      type: agg.fn === 'count' ? (agg.field ? 'value_count' : 'event_count') : 'aggregate',
      timespanMs,
      groupBy: agg.groupBy,
      condition: { op: agg.op, value: agg.value },
      field: agg.field,
      aggregate: agg.fn === 'count' ? undefined : agg.fn,
      rules: ['main'],
    };
  }

  private correlation(file: string, c: Located, detections: Map<string, Detection>): { outcome: LineOutcome; used: Detection[] } {
    const parsed = correlationRuleSchema.safeParse(c.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.fail(file, c, issue.path as (string | number)[], issue.message, true);
    }
    const rule = parsed.data;
    const corr = rule.correlation;
    const used = corr.rules.map((ref, i) => {
      const det = detections.get(ref);
      if (!det) this.fail(file, c, ['correlation', 'rules', i], `rule '${ref}' is not in this file (put the correlated rules in the same file, separated by ---)`);
      return det;
    });
    const timespanMs = parseTimespan(corr.timespan);
    if (!timespanMs) this.fail(file, c, ['correlation', 'timespan'], `expected a timespan like 15m, found "${corr.timespan}"`);
    let condition: CorrelationSpec['condition'];
    let field: string | undefined;
    if (corr.type === 'event_count' || corr.type === 'value_count') {
      const entries = Object.entries(corr.condition ?? {}).filter(([k]) => k !== 'field');
      if (entries.length !== 1 || typeof entries[0][1] !== 'number') this.fail(file, c, ['correlation', 'condition'], 'needs one comparison such as gte: 10', true);
      condition = { op: entries[0][0] as 'gt', value: entries[0][1] as number };
      if (corr.type === 'value_count') {
        field = typeof corr.condition?.field === 'string' ? corr.condition.field : undefined;
        if (!field) this.fail(file, c, ['correlation', 'condition'], 'value_count needs field: <the field counted>', true);
      }
    }
    const names = used.map((d) => d.name);
    const spec: CorrelationSpec = { type: corr.type, timespanMs, groupBy: corr['group-by'], condition, field, rules: names };
    const standalone = corr.generate ? names : [];
    // Aliases: a group-by name can stand for a different field in each correlated rule.
    const aliases = corr.aliases;
    return { outcome: this.build(file, c, rule, used, spec, standalone, aliases), used };
  }

  private build(
    file: string,
    at: Located,
    rule: DetectionRuleDoc | CorrelationRuleDoc,
    dets: readonly Detection[],
    correlation: CorrelationSpec | null,
    standalone: readonly string[],
    aliases: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  ): LineOutcome {
    const reasons: string[] = [];
    const routes: SigmaRoute[] = [];
    const fields = new Set<string>();
    for (const p of this.pipelines.pipelines) {
      const detections = new Map<string, CompiledDetection>();
      const groupBy = new Map<string, Getter[]>();
      const value = new Map<string, Getter | undefined>();
      let failed: string | undefined;
      for (const det of dets) {
        const ls = logsourceConditions(p, det.rule.logsource);
        if ('reason' in ls) {
          failed = ls.reason;
          break;
        }
        try {
          const name = correlation === null || correlation.rules[0] === 'main' ? 'main' : det.name;
          detections.set(name, compileDetection(p, this.pipelines.placeholders, Object.fromEntries(Object.entries(det.rule.detection).filter(([k]) => k !== 'condition' && k !== 'timeframe')), det.condition, ls.conditions));
          if (correlation) {
            const mapOne = (sigmaField: string): Getter | string => {
              const aliased = aliases[sigmaField]?.[det.name] ?? sigmaField;
              const targets = mapField(p, aliased);
              if (!targets) return `field ${aliased} has no mapping in pipeline ${p.name}`;
              const r = resolution(targets);
              r.candidates.forEach((c) => c.reads.forEach((f) => fields.add(f)));
              return r.get;
            };
            const gs = correlation.groupBy.map(mapOne);
            const bad = gs.find((g) => typeof g === 'string');
            if (bad) throw new DetectionError(bad as string, ['correlation', 'group-by']);
            groupBy.set(name, gs as Getter[]);
            if (correlation.field) {
              const v = mapOne(correlation.field);
              if (typeof v === 'string') throw new DetectionError(v, ['correlation', 'field']);
              value.set(name, v);
            }
          }
        } catch (err) {
          if (err instanceof DetectionError) {
            failed = err.message;
            if (!err.message.includes('has no mapping')) this.fail(file, det.located, err.path, err.message, true);
            break;
          }
          throw err;
        }
      }
      if (failed) {
        reasons.push(`${p.name}: ${failed}`);
        continue;
      }
      for (const d of detections.values()) d.fields.forEach((f) => fields.add(f));
      routes.push({ pipeline: p.name, indices: p.indices, indexTests: p.indices.map(compileWildcard), detections, groupBy, value });
    }
    const ruleId = rule.id ?? createHash('sha256').update(`${file}\n${rule.title}`).digest('hex').slice(0, 32);
    if (routes.length === 0) {
      return { skipped: { file, ruleId, name: rule.title, reason: `no field mapping pipeline fits: ${reasons.join('; ')}` } };
    }
    const look = rule.lookout;
    const onlyIndices = look?.index;
    const indices = onlyIndices ?? [...new Set(routes.flatMap((r) => r.indices))];
    const intervalMs = look?.interval ? parseDuration(look.interval) : 5 * 60_000;
    if (!intervalMs) this.fail(file, at, ['lookout', 'interval'], `expected a duration like 5m, found "${look?.interval}"`);
    const lookbackMs = look?.from ? parseLookback(look.from) : intervalMs + 60_000;
    if (!lookbackMs) this.fail(file, at, ['lookout', 'from'], `expected date math like "now-6m", found "${look?.from}"`);
    const severity = SEVERITY[rule.level];
    const compiled: CompiledSigma = {
      language: 'sigma',
      plan: 'streamed',
      kind: 'sigma',
      routes,
      correlation,
      standalone: correlation ? standalone : ['main'],
      fields: [...fields],
      sigmaFields: sigmaFieldsOf(routes),
      pipes: [],
      namedFields: sigmaFieldsOf(routes),
      /** How far before its window an execution must read (twice a correlation's timespan). */
      readBackMs: correlation ? 2 * correlation.timespanMs : 0,
      overlapMs: 0,
      routing: null,
      needsIndexNames: true,
      alert: correlation ? SIGMA_CORRELATION_STYLE : SIGMA_STYLE,
      matcher: (o) => new SigmaMatcher(compiled, o.emitFrom, o.indexNames, o.onUnrouted),
      pushdown: (pd: Pushdown) => {
        // Each route reads its own indices (an `_index` query matches aliases, and `.ds-` names
        // stand for a data stream's backing indices); events of an index no route covers are
        // read too, unfiltered, so that they are counted and reported rather than never seen.
        const own = (r: SigmaRoute) => r.indices.flatMap((i) => [i, `.ds-${i}`]).map((i) => ({ wildcard: { _index: i } }));
        const unrouted: Translation = { query: { bool: { must_not: routes.flatMap(own) } }, exact: true };
        return anyOf([
          ...routes.map((r) => pd.allOf([
            { query: { bool: { should: own(r), minimum_should_match: 1 } }, exact: true },
            anyOf([...r.detections.values()].map((d) => d.translate(pd))),
          ])),
          unrouted,
        ]).query;
      },
    };
    const tags = rule.tags;
    const out: Rule = {
      file,
      ruleId,
      name: rule.title,
      version: 1,
      description: rule.description.trim(),
      type: 'sigma',
      language: 'sigma',
      query: correlation && correlation.rules[0] !== 'main'
        ? `${correlation.type} of ${correlation.rules.join(', ')} within ${correlation.timespanMs / 60_000}m`
        : String(dets[0].rule.detection.condition),
      compiled,
      indices: Object.freeze([...indices]),
      lookbackMs,
      intervalMs,
      maxSignals: look?.max_signals ?? 100,
      severity,
      riskScore: look?.risk_score ?? RISK[severity],
      severityMapping: [],
      riskScoreMapping: [],
      timestampField: '@timestamp',
      timestampFallback: false,
      eventCategoryField: 'event.category',
      tags: Object.freeze([...tags]),
      author: rule.author ? [rule.author] : [],
      references: Object.freeze([...rule.references]),
      threat: [],
      enabled: look?.enabled ?? true,
      filters: { query: null, matches: () => true },
      enrichments: Object.freeze([...(look?.enrich ?? [])]),
      webhooks: Object.freeze([...(look?.webhooks ?? [])]),
    };
    return { rule: Object.freeze(out) };
  }
}
