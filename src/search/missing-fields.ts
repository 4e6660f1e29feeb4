/**
 * Fields a rule uses that no target index has: a filter on one never applies, a selection on
 * one never matches, and nothing else says so. Found from the `_field_caps` answer each read
 * already fetches for its pushdown. For a Sigma rule a field is missing when none of its
 * candidates (in any pipeline it runs on) is mapped anywhere; the Sigma name is reported.
 */
import type { Rule } from '../rules/model.js';
import { mayHave, type FieldTypes } from './field-caps.js';

export function missingFields(rule: Rule, types: FieldTypes): string[] {
  const c = rule.compiled;
  if (c.kind === 'sigma') return [...c.sigmaFields].filter(([, reads]) => !reads.some((r) => mayHave(types, r))).map(([f]) => f).sort();
  return [...new Set(c.fields)].filter((f) => !mayHave(types, f)).sort();
}
