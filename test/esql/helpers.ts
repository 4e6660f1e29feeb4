import { compileEsql, type EsqlCompileOptions, type EsqlEvent } from '../../src/esql/compile.js';
import { rowToObject } from '../../src/esql/values.js';

export const NOW = new Date('2024-05-01T12:00:00.000Z');

/** Runs a query over events; rows as plain objects (dates as ISO strings), plus the warnings. */
export function run(query: string, events: readonly (Record<string, unknown> | EsqlEvent)[], options: EsqlCompileOptions = {}) {
  const q = compileEsql(query, options);
  const r = q.start({ now: NOW });
  const rows = [];
  for (const e of events) rows.push(...r.push('_source' in e ? (e as EsqlEvent) : { _source: e }));
  rows.push(...r.finish());
  return { rows: rows.map(rowToObject), stats: r.stats() };
}

/** The value of one expression over one event. */
export function value(expr: string, source: Record<string, unknown> = {}): unknown {
  return run(`FROM x | EVAL r = ${expr} | KEEP r`, [source]).rows[0].r;
}
