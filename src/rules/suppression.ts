/**
 * Kibana's `alert_suppression` rule field, as TOML (`[rule.alert_suppression]`) and Kibana's
 * export write it: `group_by` (1 to 3 fields), `duration` (`{ value, unit }`, unit s/m/h; absent:
 * suppression per rule execution) and `missing_fields_strategy` (`suppress`, the default, or
 * `doNotSuppress`). Threshold rules take only `duration`: their group is the threshold fields.
 * The folding itself is in alerts/suppress.ts.
 */
import * as z from 'zod';
import { RuleLoadError } from '../errors.js';

export const alertSuppressionSchema = z.strictObject({
  group_by: z.array(z.string().min(1, 'must not be empty')).min(1, 'needs 1 to 3 fields').max(3, 'takes at most 3 fields').optional(),
  duration: z.strictObject({
    value: z.number().int('must be a whole number').min(1, 'must be at least 1'),
    unit: z.enum(['s', 'm', 'h']),
  }).optional(),
  missing_fields_strategy: z.enum(['suppress', 'doNotSuppress']).default('suppress'),
});

export type AlertSuppressionFields = z.infer<typeof alertSuppressionSchema>;

/** How a rule's alerts are folded (read-only, made by the loader). */
export interface AlertSuppression {
  /** Fields whose values make an alert's group; empty for a threshold rule (its threshold fields, from the match's entity). */
  readonly groupBy: readonly string[];
  /** An open alert of the group whose first event is less than this before a new one takes it in; undefined: per rule execution. */
  readonly durationMs?: number;
  /** `suppress`: a missing field is a null value of the group; `doNotSuppress`: such an alert is written on its own. */
  readonly missingFields: 'suppress' | 'doNotSuppress';
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Checks the field against the rule's type; `at` places an error on a key of the rule. */
export function buildAlertSuppression(
  file: string, type: string, s: AlertSuppressionFields,
  at: (key: string) => { line?: number; column?: number },
): AlertSuppression {
  const durationMs = s.duration ? s.duration.value * UNIT_MS[s.duration.unit] : undefined;
  if (type === 'threshold') {
    if (s.group_by !== undefined) {
      throw new RuleLoadError(file, 'rule.alert_suppression.group_by: a threshold rule suppresses by its threshold.field; it takes only duration', at('group_by'));
    }
    if (durationMs === undefined) throw new RuleLoadError(file, 'rule.alert_suppression.duration: a threshold rule needs a duration', at('alert_suppression'));
    return Object.freeze({ groupBy: Object.freeze([]), durationMs, missingFields: s.missing_fields_strategy });
  }
  if (!['eql', 'query', 'saved_query', 'new_terms', 'threat_match', 'machine_learning', 'esql'].includes(type)) {
    throw new RuleLoadError(file, `rule.alert_suppression: ${type} rules do not take alert suppression`, at('alert_suppression'));
  }
  if (s.group_by === undefined) throw new RuleLoadError(file, 'rule.alert_suppression.group_by: needs 1 to 3 fields', at('alert_suppression'));
  if (new Set(s.group_by).size !== s.group_by.length) {
    throw new RuleLoadError(file, `rule.alert_suppression.group_by: a field is named twice (${s.group_by.join(', ')})`, at('group_by'));
  }
  return Object.freeze({ groupBy: Object.freeze([...s.group_by]), durationMs, missingFields: s.missing_fields_strategy });
}
