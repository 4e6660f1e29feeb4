/**
 * A rule's query compiled again with the field types of the indices it reads (eql/types.ts), so
 * that date, ip and version fields compare as Elasticsearch compares them and join keys are
 * normalised by type. The rule is returned as it is when its query has no use for the types
 * (rules/language.ts `withFieldTypes`).
 */
import type { FieldTypeMap } from '../eql/types.js';
import type { FieldTypes } from '../search/field-caps.js';
import type { Rule } from './model.js';

/** `caps`: the `_field_caps` types the map was made from, when known (KQL evaluates with them). */
export function withFieldTypes(rule: Rule, types: FieldTypeMap, caps?: FieldTypes): Rule {
  const compiled = rule.compiled.withFieldTypes?.(types, caps) ?? rule.compiled;
  if (compiled === rule.compiled) return rule;
  return Object.freeze({ ...rule, compiled });
}
