/** An event as the engine sees it: where it came from, when it happened, and its document. */
export interface EventRecord {
  readonly index: string;
  readonly id: string;
  /** Epoch milliseconds of the rule's timestamp field. */
  readonly timestamp: number;
  readonly source: Readonly<Record<string, unknown>>;
}

/** What a correlation measured when it fired. */
export interface CorrelationResult {
  readonly type: string;
  /** The count, distinct count or aggregate that met the condition. */
  readonly value: number;
  /** Events in the window (the match lists at most 100 of them). */
  readonly events: number;
  readonly group: Readonly<Record<string, string | number | boolean | null>>;
  readonly timespanMs: number;
}

/** What a rule matched: one event for an event query, the ordered events of a sequence. */
export interface RuleMatch {
  readonly events: readonly EventRecord[];
  /**
   * Join key values of a sequence or sample, or the group of a correlation (empty for an event
   * query). null: an optional key (`by ?field`) whose field is missing or null.
   */
  readonly joinKeys: readonly (string | number | boolean | null)[];
  readonly correlation?: CorrelationResult;
}

/** Parses an event timestamp: ISO 8601 (any offset) or epoch milliseconds. */
export function parseTimestamp(value: unknown): number | undefined {
  if (Array.isArray(value)) return value.length > 0 ? parseTimestamp(value[0]) : undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
