/**
 * One error hierarchy for Lookout. Every error has a stable `code` that callers branch on,
 * an optional source `location` (file, line, column: 1-based) that is appended to the message,
 * and an optional `cause`. Errors from libraries (TOML, zod, the Elasticsearch client) are
 * converted where they enter. Secrets never go into messages: `redact` scrubs what could hold one.
 */

export interface SourceLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  const parts: string[] = [];
  if (loc.file) parts.push(loc.file);
  if (loc.line !== undefined) parts.push(String(loc.line));
  if (loc.line !== undefined && loc.column !== undefined) parts.push(String(loc.column));
  return parts.join(':');
}

export class LookoutError extends Error {
  readonly code: string;
  readonly location?: SourceLocation;

  constructor(code: string, message: string, options: { location?: SourceLocation; cause?: unknown } = {}) {
    const where = options.location ? formatLocation(options.location) : '';
    super(where ? `${where}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.location = options.location;
  }
}

/** An environment variable or CLI option has a value of the wrong form. */
export class ConfigError extends LookoutError {
  constructor(message: string, options: { location?: SourceLocation; cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A rule file cannot be read, parsed or validated. */
export class RuleLoadError extends LookoutError {
  readonly ruleFile: string;
  constructor(file: string, message: string, options: { line?: number; column?: number; cause?: unknown } = {}) {
    super('RULE_INVALID', message, { location: { file, line: options.line, column: options.column }, cause: options.cause });
    this.ruleFile = file;
  }
}

/** An EQL query is not well-formed. `offset` is 0-based in the query text; line/column 1-based. */
export class EqlSyntaxError extends LookoutError {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly bareMessage: string;
  constructor(message: string, offset: number, line: number, column: number) {
    super('EQL_SYNTAX', `${message} (${line}:${column})`);
    this.offset = offset;
    this.line = line;
    this.column = column;
    this.bareMessage = message;
  }
}

/** A well-formed EQL query that Lookout cannot run (an unsupported feature, a type error). */
export class EqlVerificationError extends LookoutError {
  constructor(message: string, line: number, column: number) {
    super('EQL_UNSUPPORTED', `${message} (${line}:${column})`);
  }
}

/**
 * A query text (KQL, ES|QL) is not well-formed. `offset` is 0-based in the query text; line/column
 * 1-based; `bareMessage` is the message without its position.
 */
export abstract class QuerySyntaxError extends LookoutError {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly bareMessage: string;
  protected constructor(code: string, message: string, offset: number, line: number, column: number, file?: string) {
    super(code, `${message} (${line}:${column})`, file ? { location: { file, line, column } } : {});
    this.offset = offset;
    this.line = line;
    this.column = column;
    this.bareMessage = message;
  }
}

/** A KQL (Kibana query language) query is not well-formed. */
export class KqlSyntaxError extends QuerySyntaxError {
  constructor(message: string, offset: number, line: number, column: number, options: { file?: string } = {}) {
    super('KQL_SYNTAX', message, offset, line, column, options.file);
  }
}

/** An ES|QL query is not well-formed. */
export class EsqlSyntaxError extends QuerySyntaxError {
  constructor(message: string, offset: number, line: number, column: number) {
    super('ESQL_SYNTAX', message, offset, line, column);
  }
}

/**
 * A well-formed ES|QL query that Lookout cannot run: a command or function it does not support
 * (`reason` starts with "not supported: <name>"), an unknown column, a wrong argument count.
 */
export class EsqlVerificationError extends LookoutError {
  readonly reason: string;
  readonly line: number;
  readonly column: number;
  constructor(reason: string, line: number, column: number) {
    super('ESQL_UNSUPPORTED', `${reason} (${line}:${column})`);
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

/**
 * A rule whose query is well-formed but cannot run in Lookout (an ES|QL COMPLETION): the loader
 * lists the rule as skipped with `reason` rather than failing the rule set.
 */
export class RuleSkipped extends LookoutError {
  readonly reason: string;
  constructor(reason: string) {
    super('RULE_SKIPPED', reason);
    this.reason = reason;
  }
}

/** An ES|QL query failed while running (a STATS group bound exceeded). */
export class EsqlRuntimeError extends LookoutError {
  constructor(message: string) {
    super('ESQL_RUNTIME', message);
  }
}

/** Elasticsearch could not be reached or answered with an error. */
export class SearchError extends LookoutError {
  readonly statusCode?: number;
  constructor(message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super('SEARCH_FAILED', redact(message), { cause: options.cause });
    this.statusCode = options.statusCode;
  }
}

/** Alerts could not be written after retries; `alertIds` names every one that was not. */
export class AlertWriteError extends LookoutError {
  readonly alertIds: readonly string[];
  constructor(message: string, alertIds: readonly string[], options: { cause?: unknown } = {}) {
    super('ALERT_WRITE_FAILED', redact(message), options);
    this.alertIds = alertIds;
  }
}

/** An event could not be evaluated; counted and skipped, never fatal to a run. */
export class EventError extends LookoutError {
  constructor(message: string) {
    super('EVENT_INVALID', message);
  }
}

/** An events input (`test-rule --events`) cannot be read: missing, unreadable, broken gzip. */
export class EventsInputError extends LookoutError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('EVENTS_INPUT', message, options);
  }
}

/** An events input (`test-rule --events`) whose event is older than the one before it; `line` is where it stands. */
export class OutOfOrderError extends LookoutError {
  constructor(readonly source: string, readonly line: number, readonly timestamp: number, readonly previous: number) {
    super('EVENTS_OUT_OF_ORDER',
      `event at ${new Date(timestamp).toISOString()} comes after one at ${new Date(previous).toISOString()}: the input is not in time order`,
      { location: { file: source, line } });
  }
}

/** A mapping file (`test-rule --mapping`) that cannot be read as field types; names the file and field. */
export class MappingFileError extends LookoutError {
  constructor(message: string) {
    super('MAPPING_FILE_INVALID', message);
  }
}

const SECRET_PATTERNS: readonly RegExp[] = [
  /(\/\/)([^/@\s:]+):([^/@\s]+)@/g, // user:password@ in URLs
  /(ApiKey\s+)[A-Za-z0-9+/=_-]+/gi,
  /(Basic\s+)[A-Za-z0-9+/=]+/gi,
  /(Bearer\s+)[A-Za-z0-9+/=._-]+/gi,
];

/** Removes credentials from a text that may quote a URL or an Authorization header. */
export function redact(text: string): string {
  let out = text;
  out = out.replace(SECRET_PATTERNS[0], '$1***:***@');
  for (const pattern of SECRET_PATTERNS.slice(1)) out = out.replace(pattern, '$1***');
  return out;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redact(err.message);
  return redact(String(err));
}
