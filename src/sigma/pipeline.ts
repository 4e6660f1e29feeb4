/**
 * Field mapping pipelines: data files (mappings/sigma/*.json) that say, for one kind of data,
 * which indices hold it, what Sigma's field names become there, and which events a logsource
 * (`category: process_creation`, `service: security`) selects. A Sigma rule runs on every
 * pipeline whose product and logsource fit; an event is routed to the pipeline whose indices
 * its index matches. Users extend mappings by adding or editing files, not code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ConfigError } from '../errors.js';
import type { CandidateSpec } from './resolve.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const match = z.record(z.string(), z.union([scalar, z.array(scalar)]));
const logsourceCondition = z.union([z.object({ all: match }), z.object({ any: z.array(match).min(1) })]);

const pipelineSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  product: z.string().min(1),
  indices: z.array(z.string().min(1)).min(1),
  /**
   * Candidates for fields not listed (`winlog.event_data.{field}`; `{field_}` is the name with
   * spaces as underscores, as Elastic Agent writes Defender's `Threat Name`), or null: unlisted
   * fields do not run here.
   */
  unmapped: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).nullable(),
  /**
   * Candidates per Sigma field, tried in order per event (see resolve.ts): a field path, a
   * template (`{user.domain}\\{user.name}`), a list of templates (all present ones are values)
   * or a field with translated values (`{"field": "network.direction", "map": {"egress": "true"}}`).
   */
  fields: z.record(z.string(), z.array(z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1),
    z.strictObject({
      field: z.string().min(1),
      map: z.record(z.string(), z.string()).optional(),
      format: z.enum(['dword']).optional(),
      when: z.record(z.string(), z.string()).optional(),
    }).refine((c) => (c.map === undefined) !== (c.format === undefined), 'a translated field needs either map or format'),
  ])).min(1)),
  logsources: z.record(z.string(), logsourceCondition),
});

export type Pipeline = Readonly<z.infer<typeof pipelineSchema>>;
export type LogsourceCondition = z.infer<typeof logsourceCondition>;

export interface PipelineSet {
  readonly pipelines: readonly Pipeline[];
  readonly placeholders: Readonly<Record<string, readonly string[]>>;
}

export function defaultPipelineDir(): string {
  return fileURLToPath(new URL('../../mappings/sigma', import.meta.url));
}

export function loadPipelines(dir: string = defaultPipelineDir()): PipelineSet {
  const pipelines: Pipeline[] = [];
  let placeholders: Record<string, string[]> = {};
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    throw new ConfigError(`cannot read Sigma pipelines in ${dir}: ${(err as Error).message}`);
  }
  for (const f of files) {
    const path = join(dir, f);
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${path}: not JSON: ${(err as Error).message}`);
    }
    if (f === 'placeholders.json') {
      const parsed = z.record(z.string(), z.union([z.string(), z.array(z.string())])).safeParse(data);
      if (!parsed.success) throw new ConfigError(`${path}: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
      placeholders = Object.fromEntries(Object.entries(parsed.data).filter(([k]) => k !== '_comment').map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
      continue;
    }
    const parsed = pipelineSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${path}: ${issue.path.join('.') || 'pipeline'}: ${issue.message}`);
    }
    pipelines.push(Object.freeze(parsed.data));
  }
  return { pipelines, placeholders };
}

export interface Logsource {
  readonly product?: string;
  readonly category?: string;
  readonly service?: string;
}

/** The pipeline's conditions for a logsource, or the reason it does not apply. */
export function logsourceConditions(p: Pipeline, ls: Logsource): { conditions: LogsourceCondition[] } | { reason: string } {
  if (ls.product && ls.product.toLowerCase() !== p.product.toLowerCase()) return { reason: `product ${ls.product} is not ${p.product}` };
  const conditions: LogsourceCondition[] = [];
  for (const key of [ls.category ? `category:${ls.category}` : null, ls.service ? `service:${ls.service}` : null]) {
    if (key === null) continue;
    const c = p.logsources[key.toLowerCase()] ?? p.logsources[key];
    if (!c) return { reason: `no ${key.replace(':', ' ')} in pipeline ${p.name}` };
    conditions.push(c);
  }
  if (!ls.product && conditions.length === 0) return { reason: `logsource has neither product, category nor service` };
  return { conditions };
}

/** Candidates of a Sigma field in a pipeline, in resolution order, or null when it has no mapping there. */
export function mapField(p: Pipeline, field: string): readonly CandidateSpec[] | null {
  const listed = p.fields[field];
  if (listed) return listed;
  if (p.unmapped === null) return null;
  const templates = typeof p.unmapped === 'string' ? [p.unmapped] : p.unmapped;
  return [...new Set(templates.map((t) => t.replaceAll('{field_}', field.replaceAll(' ', '_')).replaceAll('{field}', field)))];
}
