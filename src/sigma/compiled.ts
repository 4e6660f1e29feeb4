/** A Sigma rule ready to run: one route per applicable pipeline, and an optional correlation. */
import type { CorrelationSpec } from '../engine/correlation.js';
import type { Getter } from '../eql/fields.js';
import type { StringTest } from '../eql/wildcard.js';
import type { StreamedQuery } from '../rules/language.js';
import type { CompiledDetection } from './detection.js';

export interface SigmaRoute {
  readonly pipeline: string;
  readonly indices: readonly string[];
  readonly indexTests: readonly StringTest[];
  /** Detections by name: `main` for a single rule, the rule names for a correlation. */
  readonly detections: ReadonlyMap<string, CompiledDetection>;
  /** Group-by getters, in the correlation's group-by order, per detection name. */
  readonly groupBy: ReadonlyMap<string, readonly Getter[]>;
  /** Value field getter per detection name (value_count, aggregations). */
  readonly value: ReadonlyMap<string, Getter | undefined>;
}

export interface CompiledSigma extends StreamedQuery {
  readonly language: 'sigma';
  readonly kind: 'sigma';
  readonly routes: readonly SigmaRoute[];
  readonly correlation: CorrelationSpec | null;
  /** Detections that alert on their own (a plain rule's `main`, or `generate: true`). */
  readonly standalone: readonly string[];
  readonly fields: readonly string[];
  /** Per Sigma field the rule uses: the fields its candidates read, over every route (for reporting fields no index has). */
  readonly sigmaFields: ReadonlyMap<string, readonly string[]>;
  readonly pipes: readonly [];
}

/** The compiled query as Sigma (null for another language). */
export function asSigma(q: { readonly language: string }): CompiledSigma | null {
  return q.language === 'sigma' ? (q as CompiledSigma) : null;
}
