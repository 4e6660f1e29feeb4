/**
 * The EQL conformance table (docs/eql-conformance.md): every live EQL rule of Elastic's
 * detection-rules corpus (../shared/corpus), loaded, pushed down and executed against the real
 * server on events generated from the rule's own conditions. Run with `npm run conformance`.
 *
 * For each rule: parsed (loads and verifies), pushed down (the server accepted and ran the
 * query Lookout built; "full" when every stage condition was translated, "partial" when a part
 * was left to the evaluator), executed (one execution over the generated events finished
 * without error), matched (the generated events formed a match: informative, since a
 * generator that only reads literals cannot satisfy every condition).
 */
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { asEql, type CompiledStage } from '../src/eql/compile.js';
import type { Expr } from '../src/eql/ast.js';
import { loadRules } from '../src/rules/load.js';
import type { Rule } from '../src/rules/model.js';
import { fetchFieldTypes } from '../src/search/field-caps.js';
import { Pushdown } from '../src/search/pushdown.js';
import { eqlCondition } from '../src/eql/pushdown.js';
import { executeRule } from '../src/scheduler/execute.js';
import { CORPUS, ConformanceServer, liveRuleFiles, reportHeader, setPath } from './conformance-lib.js';

const INDEX = 'lookout-conformance-events';

function sample(pattern: string): string {
  return pattern.replace(/\*/g, 'x').replace(/\?/g, 'y');
}

/** Assigns field values that satisfy the positive, literal parts of a condition. */
function satisfy(expr: Expr, doc: Record<string, unknown>): void {
  switch (expr.kind) {
    case 'and':
      expr.operands.forEach((e) => satisfy(e, doc));
      return;
    case 'or':
      satisfy(expr.operands[0], doc);
      return;
    case 'compare': {
      const [f, l] = expr.left.kind === 'field' ? [expr.left, expr.right] : [expr.right, expr.left];
      if (f.kind !== 'field' || l.kind !== 'literal' || l.value === null) return;
      if (expr.op === '==') setPath(doc, f.path, l.value);
      else if (typeof l.value === 'number' && (expr.op === '>' || expr.op === '>=')) setPath(doc, f.path, l.value + 1);
      else if (typeof l.value === 'number' && (expr.op === '<' || expr.op === '<=')) setPath(doc, f.path, l.value - 1);
      return;
    }
    case 'match':
      if (expr.value.kind === 'field' && expr.op !== 'regex' && expr.patterns[0]?.kind === 'literal' && typeof expr.patterns[0].value === 'string') {
        setPath(doc, expr.value.path, sample(expr.patterns[0].value));
      }
      return;
    case 'in':
      if (!expr.negated && expr.value.kind === 'field' && expr.list[0]?.kind === 'literal' && expr.list[0].value !== null) setPath(doc, expr.value.path, expr.list[0].value);
      return;
    default:
      return;
  }
}

function eventsFor(rule: Rule, ruleIndex: number): { _id: string; doc: Record<string, unknown> }[] {
  const c = asEql(rule.compiled);
  if (c === null) return [];
  const stages: readonly CompiledStage[] = c.kind === 'event' ? [c.stage] : c.stages.filter((s) => !s.missing);
  const base = Date.parse('2026-11-01T00:00:00Z') + ruleIndex * 60_000;
  return stages.map((stage, i) => {
    const doc: Record<string, unknown> = {};
    satisfy(stage.query.condition, doc);
    for (const key of stage.keyFields) setPath(doc, key.path, `key-${ruleIndex}`);
    if (stage.query.category) setPath(doc, rule.eventCategoryField, [stage.query.category]);
    const ts = new Date(base + i * 1000).toISOString();
    doc['@timestamp'] = ts;
    setPath(doc, rule.timestampField, ts);
    return { _id: `r${ruleIndex}-s${i}`, doc };
  });
}

interface Row {
  file: string;
  kind: string;
  parsed: string;
  pushed: string;
  executed: string;
  matched: string;
}

async function main(): Promise<void> {
  const files = await liveRuleFiles();
  const server = new ConformanceServer(INDEX, 'lookout-conformance');
  const { client } = server;
  const rows: Row[] = [];
  try {
    await server.reset();
    await server.createEventIndex();
    const deps = await server.executionDeps();

    const loaded: { file: string; rule: Rule }[] = [];
    for (const file of files) {
      const set = await loadRules([file]);
      const shortName = relative(CORPUS, file);
      if (set.skipped.length > 0 && set.rules.length === 0 && set.errors.length === 0) {
        if (!set.skipped[0].reason.startsWith("rule type 'eql'")) continue; // not an EQL rule
      }
      if (set.errors.length > 0) {
        if (!/type = "eql"/.test(await (await import('node:fs/promises')).readFile(file, 'utf8'))) continue;
        rows.push({ file: shortName, kind: '?', parsed: `no: ${set.errors[0].message.replace(/^.*?: /, '')}`, pushed: '', executed: '', matched: '' });
        continue;
      }
      // Other languages (threshold and new_terms rules with KQL) load too; this table is EQL's.
      if (set.rules.length === 1 && set.rules[0].language === 'eql') loaded.push({ file: shortName, rule: set.rules[0] });
    }
    // Generated events for every rule in one index, then each rule runs over its own minute.
    const ops: unknown[] = [];
    loaded.forEach(({ rule }, i) => {
      for (const e of eventsFor(rule, i)) ops.push({ index: { _index: INDEX, _id: e._id } }, e.doc);
    });
    for (let i = 0; i < ops.length; i += 2000) {
      const res = await client.bulk({ operations: ops.slice(i, i + 2000), refresh: false });
      if (res.errors) {
        const bad = res.items.filter((it) => it.index?.error).length;
        process.stderr.write(`${bad} generated event(s) refused by the mapping\n`);
      }
    }
    await client.indices.refresh({ index: INDEX });
    for (const [i, { file, rule }] of loaded.entries()) {
      const r = { ...rule, indices: [INDEX] };
      const row: Row = { file, kind: rule.compiled.kind, parsed: 'yes', pushed: '', executed: '', matched: '' };
      try {
        const types = await fetchFieldTypes(client, r.indices, r.compiled.fields);
        const pd = new Pushdown(types);
        const query = r.compiled.plan === 'streamed' ? r.compiled.pushdown(pd) : null;
        await client.search({ index: INDEX, size: 0, query: (query ?? { match_all: {} }) as never });
        const eql = asEql(r.compiled);
        if (eql === null) throw new Error('not an EQL rule');
        const stages = eql.kind === 'event' ? [eql.stage] : eql.stages;
        const full = stages.every((s) => {
          const t = eqlCondition(pd, s.query.condition);
          return t.query !== null && t.exact;
        });
        row.pushed = query === null ? 'yes (no constraint)' : full ? 'yes (full)' : 'yes (partial)';
      } catch (err) {
        row.pushed = `no: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
      const base = Date.parse('2026-11-01T00:00:00Z') + i * 60_000;
      const { record } = await executeRule(deps, r, { start: base - 1000, end: base + 59_000 }, 'once');
      row.executed = record.status === 'succeeded' ? 'yes' : `no: ${record.error}`;
      row.matched = record.matches > 0 ? 'yes' : 'no';
      rows.push(row);
    }
  } finally {
    await server.close(false);
  }
  rows.sort((a, b) => a.file.localeCompare(b.file));
  const count = (pred: (r: Row) => boolean) => rows.filter(pred).length;
  const total = rows.length;
  const lines = [
    ...reportHeader('EQL', 'eql-conformance.ts', '`type = "eql"`'),
    '- parsed: the rule loads, its query parses and verifies.',
    '- pushed down: the query Lookout built from the rule was accepted and run by the server; full = every',
    '  stage condition translated exactly, partial = some of it left to the in-memory evaluator, no constraint =',
    '  only the window is pushed down.',
    '- executed: one execution over events generated from the rule\'s own literals finished without error.',
    '- matched: those generated events formed a match (informative: a generator that reads literals cannot',
    '  satisfy every condition, e.g. negations, regex, functions).',
    '',
    `| | count |`,
    `|---|---|`,
    `| EQL rules | ${total} |`,
    `| parsed | ${count((r) => r.parsed === 'yes')} |`,
    `| pushed down | ${count((r) => r.pushed.startsWith('yes'))} (full ${count((r) => r.pushed === 'yes (full)')}, partial ${count((r) => r.pushed === 'yes (partial)')}, no constraint ${count((r) => r.pushed === 'yes (no constraint)')}) |`,
    `| executed without error | ${count((r) => r.executed === 'yes')} |`,
    `| matched the generated events | ${count((r) => r.matched === 'yes')} |`,
    `| sequences / samples / event queries | ${count((r) => r.kind === 'sequence')} / ${count((r) => r.kind === 'sample')} / ${count((r) => r.kind === 'event')} |`,
    '',
    '| rule | kind | parsed | pushed down | executed | matched |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.file} | ${r.kind} | ${r.parsed} | ${r.pushed} | ${r.executed} | ${r.matched} |`),
    '',
  ];
  await writeFile('docs/eql-conformance.md', lines.join('\n'));
  process.stdout.write(lines.slice(14, 21).join('\n') + '\n');
  if (count((r) => r.parsed === 'yes' && r.pushed.startsWith('yes') && r.executed === 'yes') !== total) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`conformance failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
