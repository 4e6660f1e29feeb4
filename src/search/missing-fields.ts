/**
 * Fields a rule uses that no target index has: a filter on one never applies, a selection on
 * one never matches, and nothing else says so. Found from the `_field_caps` answer each read
 * already fetches for its pushdown. A field is named as the rule names it, and is missing when
 * none of the fields it may read (`namedFields`: for Sigma, its candidates in every pipeline it
 * runs on) is mapped anywhere.
 */
import type { Rule } from '../rules/model.js';
import { mayHave, type FieldTypes } from './field-caps.js';

export function missingFields(rule: Rule, types: FieldTypes): string[] {
  return [...rule.compiled.namedFields].filter(([, reads]) => !reads.some((r) => mayHave(types, r))).map(([f]) => f).sort();
}
