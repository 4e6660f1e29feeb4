/**
 * Reads events for `lookout test-rule`: NDJSON, each line an event document or a search hit
 * (`_index`, `_id`, `_source`). A line that is not JSON or has no usable timestamp is reported
 * with its line number and skipped (for a sample query, which has no time order, an event
 * without a timestamp is kept, at time 0, and reported as such); the rest are reduced to the
 * fields an execution fetches and sorted by time, as a search would return them.
 */
import { readFile } from 'node:fs/promises';
import { parseEventTime, type EventRecord } from '../engine/events.js';
import { compileGetter } from '../eql/fields.js';
import type { Rule } from '../rules/model.js';
import { filterSource } from '../search/source-filter.js';

export interface EventsFile {
  readonly events: EventRecord[];
  readonly problems: string[];
  /** Sample queries only: events kept without a usable timestamp (samples do not use time); their lines. */
  readonly untimed: string[];
}

/** `includes`: the `_source` fields an execution would fetch (see planRead), applied to each event. */
export async function readEventsFile(path: string, rule: Rule, includes: readonly string[]): Promise<EventsFile> {
  const text = await readFile(path, 'utf8');
  const getTs = compileGetter(rule.timestampField);
  const getFallback = compileGetter('@timestamp');
  const events: EventRecord[] = [];
  const problems: string[] = [];
  const untimed: string[] = [];
  // A sample has no time order, and Elasticsearch samples events whatever their timestamp.
  const timeless = rule.compiled.kind === 'sample';
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: not JSON (${(err as Error).message})`);
      return;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${where}: expected a JSON object`);
      return;
    }
    const obj = value as Record<string, unknown>;
    const isHit = '_source' in obj;
    const source = (isHit ? obj._source : obj) as Record<string, unknown>;
    if (!source || typeof source !== 'object') {
      problems.push(`${where}: _source is not an object`);
      return;
    }
    const raw = getTs(source)[0];
    let ts = parseEventTime(raw);
    if (ts === undefined && rule.timestampFallback) ts = parseEventTime(getFallback(source)[0]);
    if (ts === undefined) {
      const why = `no usable ${rule.timestampField}${raw === undefined ? '' : ` (${JSON.stringify(raw)} is not a date Elasticsearch's default format reads)`}`;
      if (!timeless) {
        problems.push(`${where}: ${why}`);
        return;
      }
      untimed.push(`${where}: ${why}`);
      ts = { ms: 0, nanos: 0 };
    }
    events.push({
      index: isHit && typeof obj._index === 'string' ? obj._index : 'events',
      id: isHit && typeof obj._id === 'string' ? obj._id : `line-${i + 1}`,
      timestamp: ts.ms,
      ...(ts.nanos ? { nanos: ts.nanos } : {}),
      source: filterSource(source, includes),
    });
  });
  events.sort((a, b) => a.timestamp - b.timestamp || (a.nanos ?? 0) - (b.nanos ?? 0));
  return { events, problems, untimed };
}
