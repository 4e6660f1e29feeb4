/**
 * Loads one rule in Elastic's detection-rules TOML format. Syntax errors come with smol-toml's
 * line and column; schema errors with the line of the offending key; EQL errors with their
 * position inside the query translated to the file's line and column.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { parseDuration, parseLookback } from '../config/duration.js';
import { type LookoutError, RuleLoadError, RuleSkipped } from '../errors.js';
import { compileFilters, FilterError, type CompiledFilters } from './filters.js';
import type { Rule, SkippedRule } from './model.js';
import { DEFAULT_REGISTRY, type QueryRegistry, type RuleType } from './registry.js';
import { ruleFileSchema, type RuleFile } from './schema.js';
import { locateKey } from './toml-positions.js';
import { buildAlertSuppression } from './suppression.js';

export type LoadOutcome = { readonly rule: Rule } | { readonly skipped: SkippedRule };

export function loadElasticToml(file: string, text: string, registry: QueryRegistry = DEFAULT_REGISTRY): LoadOutcome {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const firstLine = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new RuleLoadError(file, `TOML syntax error: ${firstLine}`, { line: err.line, column: err.column, cause: err });
    }
    throw new RuleLoadError(file, `cannot parse TOML: ${String(err)}`, { cause: err });
  }
  const parsed = ruleFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.map(String).join('.');
    const pos = locateKey(text, issue.path);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new RuleLoadError(file, `${path || 'document'}: ${issue.message}${more}`, { line: pos?.line, column: pos?.column });
  }
  return buildRule(file, parsed.data.rule, (key) => locateKey(text, ['rule', key]) ?? {}, (err) => queryPosition(text, parsed.data.rule.query ?? '', err), parsed.data.lookout?.webhooks ?? [], registry);
}

type RuleFields = RuleFile['rule'];
type Locate = (key: string) => { line?: number; column?: number };

/**
 * From validated rule fields (from TOML or a Kibana export) to the rule the engine runs.
 * `at` places an error on a key; `inQuery` places an EQL error inside the query.
 */
export function buildRule(
  file: string, r: RuleFields, at: Locate, inQuery: (err: LookoutError) => { line?: number; column?: number },
  webhooks: Rule['webhooks'] = [], registry: QueryRegistry = DEFAULT_REGISTRY,
): LoadOutcome {
  const found = registry.lookup(r.type, r.language);
  if ('skipped' in found) return { skipped: { file, ruleId: r.rule_id, name: r.name, reason: found.skipped } };
  if ('error' in found) throw new RuleLoadError(file, found.error, at('language'));
  const kind = r.type === 'eql' ? 'an EQL' : `a ${r.type}`;
  if (!r.query) throw new RuleLoadError(file, `rule.query: ${kind} rule needs a query`, at('type'));
  // An ES|QL rule names its indices in FROM (Kibana's have no `index`).
  if (!r.index && r.type !== 'esql') throw new RuleLoadError(file, `rule.index: ${kind} rule needs at least one index pattern`, at('type'));
  const lookbackMs = parseLookback(r.from);
  if (lookbackMs === undefined || lookbackMs <= 0) {
    throw new RuleLoadError(file, `rule.from: expected date math like "now-9m", found "${r.from}"`, at('from'));
  }
  const intervalMs = parseDuration(r.interval);
  if (intervalMs === undefined || intervalMs < 1000) {
    throw new RuleLoadError(file, `rule.interval: expected a duration of at least 1s like "5m", found "${r.interval}"`, at('interval'));
  }
  const eventCategoryField = r.event_category_override ?? 'event.category';
  let compiled: Rule['compiled'];
  try {
    compiled = found.entry.compile(r, { file, at, inQuery });
  } catch (err) {
    if (err instanceof RuleSkipped) return { skipped: { file, ruleId: r.rule_id, name: r.name, reason: err.reason } };
    throw err;
  }
  const indices = r.index ?? compiled.sourceIndices;
  if (!indices || indices.length === 0) throw new RuleLoadError(file, `rule.index: ${kind} rule needs at least one index pattern`, at('type'));
  if (r.max_samples_per_key !== undefined && compiled.kind !== 'sample') {
    throw new RuleLoadError(file, `rule.max_samples_per_key: only a sample query takes it; this query is a ${compiled.kind === 'event' ? 'single event query' : compiled.kind}`, at('max_samples_per_key'));
  }
  let filters: CompiledFilters;
  try {
    filters = compileFilters(r.filters);
  } catch (err) {
    if (err instanceof FilterError) throw new RuleLoadError(file, `rule.${err.message}`, at('filters'));
    throw err;
  }
  const alertSuppression = r.alert_suppression && buildAlertSuppression(file, r.type, r.alert_suppression, at);
  const timestampField = r.timestamp_override ?? r.timestamp_field ?? '@timestamp';
  const rule: Rule = {
    file,
    ruleId: r.rule_id,
    name: r.name,
    version: r.version,
    description: r.description.trim(),
    type: r.type as RuleType,
    language: found.language,
    query: r.query,
    compiled,
    indices: Object.freeze([...indices]),
    lookbackMs,
    intervalMs,
    maxSignals: r.max_signals,
    severity: r.severity,
    riskScore: r.risk_score,
    severityMapping: Object.freeze(r.severity_mapping.map((m) => Object.freeze({
      field: m.field, operator: m.operator, value: m.value, severity: m.severity, riskScore: m.risk_score,
    }))),
    riskScoreMapping: Object.freeze(r.risk_score_mapping.map((m) => Object.freeze({ field: m.field }))),
    timestampField,
    timestampFallback: r.timestamp_override !== undefined && r.timestamp_override_fallback_disabled !== true,
    tiebreakerField: r.tiebreaker_field,
    maxSamplesPerKey: r.max_samples_per_key,
    eventCategoryField,
    tags: Object.freeze([...r.tags]),
    author: Object.freeze([...r.author]),
    references: Object.freeze([...r.references]),
    threat: Object.freeze(r.threat),
    buildingBlockType: r.building_block_type,
    ruleNameOverride: r.rule_name_override,
    enabled: r.enabled,
    filters,
    exceptionsList: Object.freeze(r.exceptions_list),
    ...(alertSuppression ? { alertSuppression } : {}),
    enrichments: [],
    webhooks: Object.freeze([...webhooks]),
  };
  return { rule: Object.freeze(rule) };
}

/** Where an EQL error inside `query` lies in the file. */
function queryPosition(text: string, query: string, err: LookoutError): { line?: number; column?: number } {
  const m = /\((\d+):(\d+)\)$/.exec(err.message);
  const qLine = m ? Number(m[1]) : 1;
  const qCol = m ? Number(m[2]) : 1;
  const at = text.indexOf(query);
  if (at < 0) return locateKey(text, ['rule', 'query']) ?? {};
  const before = text.slice(0, at).split('\n');
  const startLine = before.length;
  const startCol = before[before.length - 1].length + 1;
  return { line: startLine + qLine - 1, column: qLine === 1 ? startCol + qCol - 1 : qCol };
}
