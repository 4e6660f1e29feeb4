/**
 * The validated rule that the engine runs: a read-only value made once by a loader. Run state
 * (last window, counts) lives in the state store, never here.
 */
import type { CompiledQuery, QueryLanguage } from './language.js';
import type { RuleType } from './registry.js';
import type { CompiledFilters } from './filters.js';
import type { CompiledExceptions, ExceptionListRef } from '../exceptions/index.js';
import type { AlertSuppression } from './suppression.js';

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface SeverityMappingEntry {
  readonly field: string;
  readonly operator: 'equals';
  readonly value: string;
  readonly severity: Severity;
  /** Lookout extension: the risk score that goes with this severity (Elastic keeps the rule's). */
  readonly riskScore?: number;
}

export interface RiskScoreMappingEntry {
  /** The score is read from this field of the source event (0-100), as in Elastic. */
  readonly field: string;
}

export interface ThreatMapping {
  readonly framework: string;
  readonly tactic: { readonly id: string; readonly name: string; readonly reference: string };
  readonly technique?: readonly {
    readonly id: string;
    readonly name: string;
    readonly reference: string;
    readonly subtechnique?: readonly { readonly id: string; readonly name: string; readonly reference: string }[];
  }[];
}

export interface Rule {
  /** The file the rule came from, as given to the loader. */
  readonly file: string;
  readonly ruleId: string;
  readonly name: string;
  readonly version: number;
  readonly description: string;
  /** The rule type (Elastic's `type`: eql, query, threshold, ...; Lookout's sigma): what kind of detection it is. */
  readonly type: RuleType;
  /** The language of its query (Elastic's `language`: eql, kuery, ...; sigma): which compiler read it. */
  readonly language: QueryLanguage;
  /** The query text (EQL, KQL, ...), or the Sigma condition. */
  readonly query: string;
  /** The compiled query, through the one interface every language implements (language.ts). */
  readonly compiled: CompiledQuery;
  readonly indices: readonly string[];
  /** How far back each execution looks (from `from = "now-9m"`). */
  readonly lookbackMs: number;
  /** How often it runs (`interval`). */
  readonly intervalMs: number;
  readonly maxSignals: number;
  readonly severity: Severity;
  readonly riskScore: number;
  readonly severityMapping: readonly SeverityMappingEntry[];
  readonly riskScoreMapping: readonly RiskScoreMappingEntry[];
  /** Field that orders and windows events: timestamp_override, else `@timestamp`. */
  readonly timestampField: string;
  /** When timestamp_override is set and an event lacks it, `@timestamp` is used (Elastic's fallback). */
  readonly timestampFallback: boolean;
  readonly tiebreakerField?: string;
  /** EQL samples: samples per join key (Elasticsearch's `max_samples_per_key`; rule field of the same name). Default 1. */
  readonly maxSamplesPerKey?: number;
  readonly eventCategoryField: string;
  readonly tags: readonly string[];
  readonly author: readonly string[];
  readonly references: readonly string[];
  readonly threat: readonly ThreatMapping[];
  readonly buildingBlockType?: string;
  readonly ruleNameOverride?: string;
  readonly enabled: boolean;
  /** Kibana filters every event must pass (in the search and in memory). */
  readonly filters: CompiledFilters;
  /** Kibana's `exceptions_list` references of the rule document (resolved by the rule set loader). */
  readonly exceptionsList?: readonly ExceptionListRef[];
  /** Exception items: an event matching one is excepted (in the search where exact, and in memory). */
  readonly exceptions?: CompiledExceptions;
  /** Kibana's alert suppression: alerts of one group are folded into one (alerts/suppress.ts). */
  readonly alertSuppression?: AlertSuppression;
  /** Enrichments applied to alerts (by name, from the enrichment registry). */
  readonly enrichments: readonly string[];
  /** Webhooks told about this rule's new alerts, besides the global one. */
  readonly webhooks: readonly { readonly url: string; readonly format: 'generic' | 'slack' }[];
}

export interface SkippedRule {
  readonly file: string;
  readonly ruleId?: string;
  readonly name?: string;
  readonly reason: string;
}
