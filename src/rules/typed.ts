/**
 * A rule's EQL compiled again with the field types of the indices it reads (eql/types.ts), so
 * that date, ip and version fields compare as Elasticsearch compares them and join keys are
 * normalised by type. The rule is returned as it is when its fields have no such type.
 */
import { compileEql } from '../eql/compile.js';
import { isTypedComparison, normalisesKeys, type FieldTypeMap } from '../eql/types.js';
import type { Rule } from './model.js';

export function withFieldTypes(rule: Rule, types: FieldTypeMap): Rule {
  const q = rule.compiled;
  if (q.kind === 'sigma') return rule;
  const keyFields = new Set((q.kind === 'event' ? [] : q.stages).flatMap((s) => s.keyFields.map((k) => k.path)));
  const matters = q.fields.some((f) => {
    const t = types.get(f);
    return t !== undefined && (isTypedComparison(t.type) || t.nullValue !== undefined || (keyFields.has(f) && normalisesKeys(t.type)));
  });
  if (!matters) return rule;
  return Object.freeze({ ...rule, compiled: compileEql(rule.query, { categoryField: rule.eventCategoryField, fieldTypes: types }) });
}
