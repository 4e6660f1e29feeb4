/**
 * Loads Kibana's rule export (NDJSON, one rule per line, as the Security app's "Export rules"
 * writes it). Each line is validated on its own, so one bad line costs one rule; errors name
 * the file and the line. The export's summary line and exception-list lines are not rules and
 * are passed over here; exceptions/ reads the exception lines and the rule set loader applies them.
 */
import { type LookoutError, RuleLoadError } from '../errors.js';
import { buildRule, type LoadOutcome } from './elastic-toml.js';
import { DEFAULT_REGISTRY, type QueryRegistry } from './registry.js';
import { firstIssue, ndjsonLines } from './ndjson.js';
import { ruleFileSchema } from './schema.js';

export type LineOutcome = LoadOutcome | { readonly error: RuleLoadError };

const ruleSchema = ruleFileSchema.shape.rule;

export function loadKibanaNdjson(file: string, text: string, registry: QueryRegistry = DEFAULT_REGISTRY): LineOutcome[] {
  const out: LineOutcome[] = [];
  for (const entry of ndjsonLines(text)) {
    const { line } = entry;
    if ('notJson' in entry) {
      out.push({ error: new RuleLoadError(file, `not JSON: ${entry.notJson}`, { line, column: 1 }) });
      continue;
    }
    const value = entry.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      out.push({ error: new RuleLoadError(file, 'expected a rule object', { line, column: 1 }) });
      continue;
    }
    const obj = value as Record<string, unknown>;
    if ('exported_count' in obj || 'exported_rules_count' in obj || ('list_id' in obj && !('rule_id' in obj))) continue;
    const parsed = ruleSchema.safeParse(obj);
    if (!parsed.success) {
      out.push({ error: new RuleLoadError(file, firstIssue(parsed.error.issues, 'rule'), { line, column: 1 }) });
      continue;
    }
    try {
      out.push(buildRule(file, parsed.data, () => ({ line, column: 1 }), (err: LookoutError) => {
        const m = /\((\d+):(\d+)\)$/.exec(err.message);
        return { line, column: m && Number(m[1]) === 1 ? Number(m[2]) : 1 };
      }, [], registry));
    } catch (err) {
      if (err instanceof RuleLoadError) out.push({ error: err });
      else throw err;
    }
  }
  return out;
}
