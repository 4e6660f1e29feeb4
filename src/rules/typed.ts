/**
 * A rule's query compiled again with the field types of the indices it reads (eql/types.ts), so
 * that date, ip and version fields compare as Elasticsearch compares them and join keys are
 * normalised by type. The rule is returned as it is when its query has no use for the types
 * (rules/language.ts `withFieldTypes`).
 */
import type { FieldTypeMap } from '../eql/types.js';
import type { Rule } from './model.js';

export function withFieldTypes(rule: Rule, types: FieldTypeMap): Rule {
  const compiled = rule.compiled.withFieldTypes?.(types) ?? rule.compiled;
  if (compiled === rule.compiled) return rule;
  return Object.freeze({ ...rule, compiled });
}
