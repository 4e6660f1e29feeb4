/**
 * The specifications of the aggregating rule types and their checks, apart from the searches
 * (which load the Elasticsearch client): the rule loader checks a rule with these alone.
 */
import { LookoutError } from '../../errors.js';

export interface ThresholdSpec {
  /** `threshold.field`: 0 to 3 fields; none makes the whole window one bucket. */
  readonly fields: readonly string[];
  /** `threshold.value`: a bucket matches with at least this many events (>= 1). */
  readonly value: number;
  /** `threshold.cardinality`: at most one entry, the distinct values of `field` a bucket must reach. */
  readonly cardinality?: readonly { readonly field: string; readonly value: number }[];
}

export class AggregateSpecError extends LookoutError {
  constructor(message: string) {
    super('AGGREGATE_INVALID', message);
  }
}

export function validateThreshold(spec: ThresholdSpec): void {
  if (spec.fields.length > 3) throw new AggregateSpecError(`threshold.field: at most 3 fields, found ${spec.fields.length} (${spec.fields.join(', ')})`);
  if (new Set(spec.fields).size !== spec.fields.length) throw new AggregateSpecError(`threshold.field: a field appears twice (${spec.fields.join(', ')})`);
  if (spec.fields.some((f) => f.trim() === '')) throw new AggregateSpecError('threshold.field: an empty field name');
  if (!Number.isInteger(spec.value) || spec.value < 1) throw new AggregateSpecError(`threshold.value: expected an integer of at least 1, found ${spec.value}`);
  const card = spec.cardinality ?? [];
  if (card.length > 1) throw new AggregateSpecError(`threshold.cardinality: at most one entry, found ${card.length}`);
  for (const c of card) {
    if (!c.field || c.field.trim() === '') throw new AggregateSpecError('threshold.cardinality[0].field: an empty field name');
    if (!Number.isInteger(c.value) || c.value < 1) throw new AggregateSpecError(`threshold.cardinality[0].value: expected an integer of at least 1, found ${c.value}`);
  }
}
