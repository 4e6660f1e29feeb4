/**
 * Configuration from environment variables, with a `.env` file in the working directory filling
 * in what the environment does not set. Validated with zod; every error names the variable and
 * the form it expects. Credentials are read here and nowhere else.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import * as z from 'zod';
import { ConfigError } from '../errors.js';
import { parseDuration } from './duration.js';

const duration = (example: string) =>
  z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like ${example} (units ms, s, m, h, d), found "${v}"` });
      return z.NEVER;
    }
    return ms;
  });

const positiveInt = (max: number) =>
  z.string().transform((v, ctx) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < 1 || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, found "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const flag = z.string().transform((v, ctx) => {
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false, found "${v}"` });
  return z.NEVER;
});

const envSchema = z.object({
  ELASTICSEARCH_URL: z.string().default('http://127.0.0.1:9200').refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL such as http://127.0.0.1:9200'),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  ELASTICSEARCH_USERNAME: z.string().min(1).optional(),
  ELASTICSEARCH_PASSWORD: z.string().min(1).optional(),
  ELASTICSEARCH_CA_FILE: z.string().min(1).optional(),
  ELASTICSEARCH_CA_FINGERPRINT: z.string().regex(/^([0-9A-Fa-f]{2}:?){32}$/, 'expected a SHA-256 fingerprint: 64 hex digits, colons allowed').optional(),
  ELASTICSEARCH_REQUEST_TIMEOUT: duration('30s').default(30_000),
  LOOKOUT_RULES_DIR: z.string().min(1).default('rules'),
  LOOKOUT_ALERTS_INDEX: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a lower-case index name such as lookout-alerts-default').default('lookout-alerts-default'),
  LOOKOUT_STATE_INDEX: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a lower-case index name such as lookout-executions').default('lookout-executions'),
  LOOKOUT_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  LOOKOUT_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  LOOKOUT_PAGE_SIZE: positiveInt(10_000).default(5000),
  LOOKOUT_READ_MODE: z.enum(['auto', 'pit', 'scroll']).default('auto'),
  LOOKOUT_BULK_BYTES: positiveInt(100 * 1024 * 1024).default(5 * 1024 * 1024),
  LOOKOUT_BACKFILL_CONCURRENCY: positiveInt(16).default(2),
  LOOKOUT_MAX_CATCHUP: duration('1h').default(3_600_000),
  LOOKOUT_SIGMA_PIPELINES: z.string().min(1).optional(),
  LOOKOUT_WEBHOOK_URL: z.string().url('expected an http(s) URL for webhook notifications').optional(),
  LOOKOUT_WEBHOOK_FORMAT: z.enum(['generic', 'slack']).default('generic'),
  LOOKOUT_METRICS_PORT: z.string().transform((v, ctx) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected a port number from 0 to 65535 (0 turns the endpoints off), found "${v}"` });
      return z.NEVER;
    }
    return n;
  }).default(9464),
  LOOKOUT_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  LOOKOUT_INSTANCE_ID: z.string().min(1).optional(),
  LOOKOUT_LEASE_TTL: duration('10m').optional(),
  LOOKOUT_FILL_GAPS: flag.default(true),
  LOOKOUT_SETTLE: z.string().transform((v, ctx) => {
    const ms = v.trim() === '0' ? 0 : parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 5m (units ms, s, m, h, d), or 0 to turn it off, found "${v}"` });
      return z.NEVER;
    }
    return ms;
  }).default(300_000),
});

export type Config = Readonly<{
  elasticsearch: Readonly<{
    url: string;
    apiKey?: string;
    username?: string;
    password?: string;
    caFile?: string;
    caFingerprint?: string;
    requestTimeoutMs: number;
  }>;
  rulesDir: string;
  alertsIndex: string;
  stateIndex: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'auto' | 'json' | 'pretty';
  pageSize: number;
  readMode: 'auto' | 'pit' | 'scroll';
  /** Largest bulk request of alerts, in bytes. */
  bulkBytes: number;
  /** Backfill windows read and evaluated at once. */
  backfillConcurrency: number;
  maxCatchupMs: number;
  /** Folder of Sigma field mapping pipelines; undefined: the package's mappings/sigma. */
  sigmaPipelines?: string;
  webhook?: Readonly<{ url: string; format: 'generic' | 'slack' }>;
  metrics: Readonly<{ host: string; port: number }>;
  /** Names this runner in leases; default: host name and process id. */
  instanceId?: string;
  /** How long a rule's lease lasts without renewal; default: the rule's interval plus a minute. */
  leaseTtlMs?: number;
  /** The daemon fills recorded gaps itself, one chunk per rule per tick. */
  fillGaps: boolean;
  /** How long after an outage or a failure data may still arrive; 0: not waited for. */
  settleMs: number;
}>;

/** Reads `.env` (if present) into a copy of `env`; variables already set win. */
export function withDotEnv(env: NodeJS.ProcessEnv, file = '.env'): NodeJS.ProcessEnv {
  if (!existsSync(file)) return env;
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${String(err)}`, { cause: err });
  }
  return { ...parsed, ...env };
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') relevant[key] = v;
  }
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      const shown = name.includes('PASSWORD') || name.includes('API_KEY') ? '(value hidden)' : `"${relevant[name] ?? ''}"`;
      return `${name}: ${i.message}${i.message.includes('found') ? '' : ` (found ${shown})`}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if ((e.ELASTICSEARCH_USERNAME === undefined) !== (e.ELASTICSEARCH_PASSWORD === undefined)) {
    throw new ConfigError('invalid configuration:\n  ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD must be set together');
  }
  if (e.ELASTICSEARCH_API_KEY && e.ELASTICSEARCH_USERNAME) {
    throw new ConfigError('invalid configuration:\n  ELASTICSEARCH_API_KEY and ELASTICSEARCH_USERNAME are both set; choose one way to authenticate');
  }
  if (e.ELASTICSEARCH_CA_FILE && !existsSync(e.ELASTICSEARCH_CA_FILE)) {
    throw new ConfigError(`invalid configuration:\n  ELASTICSEARCH_CA_FILE: no such file "${e.ELASTICSEARCH_CA_FILE}"`);
  }
  return Object.freeze({
    elasticsearch: Object.freeze({
      url: e.ELASTICSEARCH_URL,
      apiKey: e.ELASTICSEARCH_API_KEY,
      username: e.ELASTICSEARCH_USERNAME,
      password: e.ELASTICSEARCH_PASSWORD,
      caFile: e.ELASTICSEARCH_CA_FILE,
      caFingerprint: e.ELASTICSEARCH_CA_FINGERPRINT,
      requestTimeoutMs: e.ELASTICSEARCH_REQUEST_TIMEOUT,
    }),
    rulesDir: e.LOOKOUT_RULES_DIR,
    alertsIndex: e.LOOKOUT_ALERTS_INDEX,
    stateIndex: e.LOOKOUT_STATE_INDEX,
    logLevel: e.LOOKOUT_LOG_LEVEL,
    logFormat: e.LOOKOUT_LOG_FORMAT,
    pageSize: e.LOOKOUT_PAGE_SIZE,
    readMode: e.LOOKOUT_READ_MODE,
    bulkBytes: e.LOOKOUT_BULK_BYTES,
    backfillConcurrency: e.LOOKOUT_BACKFILL_CONCURRENCY,
    maxCatchupMs: e.LOOKOUT_MAX_CATCHUP,
    sigmaPipelines: e.LOOKOUT_SIGMA_PIPELINES,
    webhook: e.LOOKOUT_WEBHOOK_URL ? Object.freeze({ url: e.LOOKOUT_WEBHOOK_URL, format: e.LOOKOUT_WEBHOOK_FORMAT }) : undefined,
    metrics: Object.freeze({ host: e.LOOKOUT_METRICS_HOST, port: e.LOOKOUT_METRICS_PORT }),
    instanceId: e.LOOKOUT_INSTANCE_ID,
    leaseTtlMs: e.LOOKOUT_LEASE_TTL,
    fillGaps: e.LOOKOUT_FILL_GAPS,
    settleMs: e.LOOKOUT_SETTLE,
  });
}
