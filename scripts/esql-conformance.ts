/**
 * The ES|QL conformance table (docs/esql-conformance.md): every live ES|QL rule of Elastic's
 * detection-rules corpus (../shared/corpus), loaded, pushed down and executed against the real
 * server (which need not have ES|QL: the development server is 7.17) on events generated from the
 * literals of the rule's WHERE conditions before its first STATS. Run with `npm run conformance`.
 *
 * For each rule: loads (or skipped, with the reason), pushed down (the server accepted and ran
 * the query Lookout built; how many of the leading WHERE conjuncts went to the server), executed
 * (one execution over the generated events finished without error), rows (result rows of that
 * execution: informative, since a generator that reads literals cannot satisfy every condition).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { type PushdownCondition, toPushdown } from '../src/esql/conjuncts.js';
import { pushdown as esqlPushdown } from '../src/esql/pushdown.js';
import { fieldTypesFromCaps } from '../src/eql/mapping-types.js';
import { compileKql } from '../src/kql/compile.js';
import { asEsql } from '../src/rules/esql.js';
import { loadRules } from '../src/rules/load.js';
import type { Rule } from '../src/rules/model.js';
import { withFieldTypes } from '../src/rules/typed.js';
import { executeRule, pushedQuery } from '../src/scheduler/execute.js';
import { fetchFieldTypes } from '../src/search/field-caps.js';
import { CORPUS, ConformanceServer, liveRuleFiles, reportHeader, setPath } from './conformance-lib.js';

const INDEX = 'lookout-esql-conformance-events';

/** Assigns field values that satisfy the positive, literal parts of a condition. */
function satisfy(c: PushdownCondition, doc: Record<string, unknown>): void {
  switch (c.kind) {
    case 'and':
      c.operands.forEach((o) => satisfy(o, doc));
      return;
    case 'or':
      if (c.operands.length > 0) satisfy(c.operands[0], doc);
      return;
    case 'eq':
      setPath(doc, c.field, c.values[0]);
      return;
    case 'range':
      if (typeof c.value === 'number') setPath(doc, c.field, c.op.startsWith('>') ? c.value + 1 : c.value - 1);
      return;
    case 'exists':
      if (!c.negated) setPath(doc, c.field, 'x');
      return;
    case 'like':
      setPath(doc, c.field, c.pattern.replace(/\*/g, 'x').replace(/\?/g, 'y'));
      return;
    default:
      return;
  }
}

function countConjuncts(rule: Rule): number {
  return asEsql(rule.compiled)?.esql.leadingConjuncts.length ?? 0;
}

interface Row {
  file: string;
  kind: string;
  loads: string;
  pushed: string;
  executed: string;
  rows: string;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0].replace(/\|/g, '\\|');

async function main(): Promise<void> {
  const files = await liveRuleFiles();
  const server = new ConformanceServer(INDEX, 'lookout-esql-conformance');
  const { client } = server;
  const rows: Row[] = [];
  let leadingTotal = 0;
  let leadingPushed = 0;
  try {
    await server.reset();
    await server.createEventIndex();
    const deps = await server.executionDeps();

    const loaded: { file: string; rule: Rule }[] = [];
    for (const file of files) {
      if (!/^type = "esql"/m.test(await readFile(file, 'utf8'))) continue;
      const shortName = relative(CORPUS, file);
      const set = await loadRules([file]);
      if (set.errors.length > 0) {
        rows.push({ file: shortName, kind: '?', loads: `no: ${firstLine(set.errors[0]).replace(/^.*?: /, '')}`, pushed: '', executed: '', rows: '' });
      } else if (set.skipped.length > 0) {
        rows.push({ file: shortName, kind: '?', loads: `skipped: ${set.skipped[0].reason.replace(/\|/g, '\\|')}`, pushed: '', executed: '', rows: '' });
      } else loaded.push({ file: shortName, rule: set.rules[0] });
    }
    // Generated events for every rule in one index, then each rule runs over its own minute.
    const ops: unknown[] = [];
    loaded.forEach(({ rule }, i) => {
      const doc: Record<string, unknown> = {};
      // The literals of every WHERE before the first STATS (a column an EVAL makes is overwritten by it).
      const commands = asEsql(rule.compiled)?.esql.query.commands ?? [];
      for (const c of commands) {
        if (c.kind === 'stats' && !c.inline) break;
        if (c.kind === 'where') satisfy(toPushdown(c.condition, rule.query), doc);
      }
      const ts = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString();
      doc['@timestamp'] = ts;
      setPath(doc, rule.timestampField, ts);
      ops.push({ index: { _index: INDEX, _id: `r${i}` } }, doc);
    });
    for (let i = 0; i < ops.length; i += 2000) {
      const res = await client.bulk({ operations: ops.slice(i, i + 2000), refresh: false });
      if (res.errors) process.stderr.write(`${res.items.filter((it) => it.index?.error).length} generated event(s) refused by the mapping\n`);
    }
    await client.indices.refresh({ index: INDEX });
    for (const [i, { file, rule }] of loaded.entries()) {
      const r: Rule = { ...rule, indices: [INDEX] };
      const row: Row = { file, kind: rule.compiled.kind, loads: 'yes', pushed: '', executed: '', rows: '' };
      const total = countConjuncts(r);
      try {
        const types = await fetchFieldTypes(client, r.indices, r.compiled.fields);
        const typed = withFieldTypes(r, fieldTypesFromCaps(types));
        const query = pushedQuery(typed, types);
        await client.search({ index: INDEX, size: 0, query: (query ?? { match_all: {} }) as never });
        const esql = asEsql(typed.compiled);
        const kqlToDsl = (q: string) => compileKql(q).toDsl(types);
        const { pushed } = esql ? esqlPushdown(esql.esql.leadingConjuncts, types, kqlToDsl) : { pushed: [] };
        leadingTotal += total;
        leadingPushed += pushed.length;
        row.pushed = `yes (${pushed.length} of ${total})`;
      } catch (err) {
        row.pushed = `no: ${firstLine(err)}`;
      }
      const base = Date.parse('2026-11-01T00:00:00Z') + i * 60_000;
      const { record } = await executeRule(deps, r, { start: base - 1000, end: base + 59_000 }, 'once');
      row.executed = record.status === 'succeeded' ? 'yes' : `no: ${(record.error ?? '').replace(/\|/g, '\\|')}`;
      row.rows = String(record.matches);
      rows.push(row);
    }
  } finally {
    await server.close(true);
  }
  rows.sort((a, b) => a.file.localeCompare(b.file));
  const count = (pred: (r: Row) => boolean) => rows.filter(pred).length;
  const skipReasons = new Map<string, number>();
  for (const r of rows) if (r.loads.startsWith('skipped')) {
    const reason = r.loads.replace(/ \(query \d+:\d+\)$/, '');
    skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1);
  }
  const lines = [
    ...reportHeader('ES|QL', 'esql-conformance.ts', '`type = "esql"`', 'the development Elasticsearch (7.17, which has no ES|QL: Lookout runs the queries in memory)'),
    '- loads: the rule loads and its query compiles; skipped: Lookout cannot run it, with the reason.',
    '- pushed down: the query Lookout built (the rule window is added at execution) was accepted and run by the',
    '  server; (n of m): n of the m leading WHERE conjuncts went to the server as query DSL, given the field',
    '  types of the generated events (strings mapped as keyword); the rest run in memory.',
    '- executed: one execution over an event generated from the literals of the WHEREs before the first STATS finished',
    '  without error.',
    '- rows: result rows (alerts) of that execution (informative: a generator that reads literals cannot',
    '  satisfy every condition, e.g. negations, later WHEREs after STATS).',
    '',
    '| | count |',
    '|---|---|',
    `| ES\\|QL rules | ${rows.length} |`,
    `| load | ${count((r) => r.loads === 'yes')} |`,
    ...[...skipReasons].map(([reason, n]) => `| ${reason} | ${n} |`),
    `| load errors | ${count((r) => r.loads.startsWith('no'))} |`,
    `| pushed down (server accepted) | ${count((r) => r.pushed.startsWith('yes'))} |`,
    `| leading WHERE conjuncts pushed | ${leadingPushed} of ${leadingTotal} |`,
    `| executed without error | ${count((r) => r.executed === 'yes')} |`,
    `| produced a row on the generated event | ${count((r) => r.rows !== '' && r.rows !== '0')} |`,
    `| aggregating (STATS) / not | ${count((r) => r.kind === 'aggregating')} / ${count((r) => r.kind === 'event')} |`,
    '',
    '| rule | kind | loads | pushed down | executed | rows |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.file} | ${r.kind} | ${r.loads} | ${r.pushed} | ${r.executed} | ${r.rows} |`),
    '',
  ];
  await writeFile('docs/esql-conformance.md', lines.join('\n'));
  process.stdout.write(lines.slice(16, lines.indexOf('| rule | kind | loads | pushed down | executed | rows |') - 1).join('\n') + '\n');
  const loadedCount = count((r) => r.loads === 'yes');
  if (count((r) => r.loads === 'yes' && r.pushed.startsWith('yes') && r.executed === 'yes') !== loadedCount || count((r) => r.loads.startsWith('no')) > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`conformance failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
