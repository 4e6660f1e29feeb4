/**
 * zod schema of Elastic's detection-rules TOML: the `[metadata]` and `[rule]` fields that affect
 * execution are checked; everything else (notes, setup, investigation fields) is kept loosely so
 * upstream files load unchanged.
 */
import * as z from 'zod';
import { listRefSchema } from '../exceptions/model.js';
import { alertSuppressionSchema } from './suppression.js';

const severity = z.enum(['low', 'medium', 'high', 'critical']);

const threatRef = z.object({ id: z.string().min(1), name: z.string().min(1), reference: z.string() });

/** Lookout's own settings for a rule (a `[lookout]` table in TOML, a `lookout:` map in Sigma). */
export const webhookSchema = z.strictObject({
  url: z.string().url('expected an http(s) URL'),
  format: z.enum(['generic', 'slack']).default('generic'),
});

export const ruleFileSchema = z.looseObject({
  lookout: z.strictObject({ webhooks: z.array(webhookSchema).default([]) }).optional(),
  metadata: z.looseObject({
    creation_date: z.string().optional(),
    updated_date: z.string().optional(),
    maturity: z.string().optional(),
  }).optional(),
  rule: z.looseObject({
    rule_id: z.string().min(1, 'must not be empty'),
    name: z.string().min(1, 'must not be empty'),
    description: z.string().default(''),
    type: z.string().min(1),
    language: z.string().optional(),
    query: z.string().optional(),
    index: z.array(z.string().min(1)).min(1, 'needs at least one index pattern').optional(),
    from: z.string().default('now-6m'),
    interval: z.string().default('5m'),
    max_signals: z.number().int().min(1).max(10_000).default(100),
    risk_score: z.number().int().min(0).max(100),
    severity,
    version: z.number().int().min(1).default(1),
    enabled: z.boolean().default(true),
    author: z.array(z.string()).default([]),
    tags: z.array(z.string()).default([]),
    references: z.array(z.string()).default([]),
    severity_mapping: z.array(z.strictObject({
      field: z.string().min(1),
      operator: z.literal('equals'),
      value: z.string(),
      severity,
      risk_score: z.number().int().min(0).max(100).optional(),
    })).default([]),
    risk_score_mapping: z.array(z.looseObject({
      field: z.string().min(1),
      operator: z.literal('equals').optional(),
      value: z.string().optional(),
    })).default([]),
    timestamp_override: z.string().min(1).optional(),
    timestamp_override_fallback_disabled: z.boolean().optional(),
    timestamp_field: z.string().min(1).optional(),
    tiebreaker_field: z.string().min(1).optional(),
    max_samples_per_key: z.number().int().min(1).max(10_000).optional(),
    event_category_override: z.string().min(1).optional(),
    building_block_type: z.string().optional(),
    rule_name_override: z.string().optional(),
    filters: z.array(z.unknown()).default([]),
    exceptions_list: z.array(listRefSchema).default([]),
    alert_suppression: alertSuppressionSchema.optional(),
    threat: z.array(z.looseObject({
      framework: z.string(),
      tactic: threatRef,
      technique: z.array(threatRef.extend({ subtechnique: z.array(threatRef).optional() })).optional(),
    })).default([]),
  }),
});

export type RuleFile = z.infer<typeof ruleFileSchema>;
