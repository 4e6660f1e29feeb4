/** zod schemas of Sigma rules (detection rules and v2 correlation rules), loosely: unknown keys are kept. */
import * as z from 'zod';
import { webhookSchema } from '../rules/schema.js';

const level = z.enum(['informational', 'low', 'medium', 'high', 'critical']);

/** Lookout's own attributes in a Sigma rule (Sigma allows custom attributes). */
export const lookoutAttributes = z.strictObject({
  interval: z.string().optional(),
  from: z.string().optional(),
  max_signals: z.number().int().min(1).max(10_000).optional(),
  risk_score: z.number().int().min(0).max(100).optional(),
  index: z.array(z.string().min(1)).min(1).optional(),
  enrich: z.array(z.string().min(1)).default([]),
  webhooks: z.array(webhookSchema).default([]),
  enabled: z.boolean().default(true),
}).optional();

export const detectionRuleSchema = z.looseObject({
  title: z.string().min(1),
  id: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  status: z.string().optional(),
  description: z.string().default(''),
  author: z.string().optional(),
  references: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  logsource: z.looseObject({ product: z.string().optional(), category: z.string().optional(), service: z.string().optional() }),
  detection: z.record(z.string(), z.unknown()),
  level: level.default('medium'),
  lookout: lookoutAttributes,
});

export const correlationRuleSchema = z.looseObject({
  title: z.string().min(1),
  id: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  description: z.string().default(''),
  author: z.string().optional(),
  references: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  level: level.default('medium'),
  correlation: z.looseObject({
    type: z.enum(['event_count', 'value_count', 'temporal', 'temporal_ordered']),
    rules: z.array(z.string().min(1)).min(1),
    'group-by': z.array(z.string().min(1)).default([]),
    timespan: z.string(),
    condition: z.partialRecord(z.enum(['gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'field']), z.union([z.number(), z.string()])).optional(),
    aliases: z.record(z.string(), z.record(z.string(), z.string())).default({}),
    generate: z.boolean().default(false),
  }),
  lookout: lookoutAttributes,
});

export type DetectionRuleDoc = z.infer<typeof detectionRuleSchema>;
export type CorrelationRuleDoc = z.infer<typeof correlationRuleSchema>;
