/**
 * Parses and compiles the ES|QL query of every live rule of Elastic's detection-rules corpus
 * (../shared/corpus, read at test time: rules/ and rules_building_block/ outside _deprecated,
 * `type = "esql"`), then runs each compiled query over an empty event and one event of the
 * strings its query quotes, so no query throws at run time. KQL() is given a stand-in predicate
 * here: the KQL language lives in another module, wired in by the rule loader.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { compileEsql, type PushdownCondition } from '../../src/esql/compile.js';
import { LookoutError } from '../../src/errors.js';

const ROOT = new URL('../../../shared/corpus/elastic-detection-rules/', import.meta.url).pathname;

function tomlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === '_deprecated') return [];
    if (statSync(p).isDirectory()) return tomlFiles(p);
    return name.endsWith('.toml') ? [p] : [];
  });
}

function liveEsqlRules(): { file: string; query: string }[] {
  const out: { file: string; query: string }[] = [];
  for (const file of [...tomlFiles(join(ROOT, 'rules')), ...tomlFiles(join(ROOT, 'rules_building_block'))]) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('esql')) continue;
    const rule = (parse(text) as { rule?: { type?: string; query?: string } }).rule;
    if (rule?.type === 'esql' && typeof rule.query === 'string') out.push({ file: file.slice(ROOT.length), query: rule.query });
  }
  return out;
}

/** The reason without its position, the per-query part of it cut to the refused construct. */
function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/ \(\d+:\d+\)$/, '');
}

test('every live ES|QL rule of the corpus parses and compiles, but for those calling an LLM (COMPLETION)', () => {
  const rules = liveEsqlRules();
  assert.equal(rules.length, 209, 'live ES|QL rules in the corpus');
  const refused = new Map<string, string[]>();
  let compiled = 0;
  let withLeading = 0;
  let conjuncts = 0;
  let structured = 0;
  const hasForm = (c: PushdownCondition): boolean =>
    c.kind === 'other' ? false : c.kind === 'and' || c.kind === 'or' ? c.operands.every(hasForm) : c.kind === 'not' ? hasForm(c.operand) : true;
  for (const { file, query } of rules) {
    let q;
    try {
      q = compileEsql(query, { kql: () => () => true });
    } catch (err) {
      assert.ok(err instanceof LookoutError, `${file}: ${String(err)}`);
      const reason = reasonOf(err);
      refused.set(reason, [...(refused.get(reason) ?? []), file]);
      continue;
    }
    compiled++;
    if (q.leadingConjuncts.length > 0) withLeading++;
    conjuncts += q.leadingConjuncts.length;
    structured += q.leadingConjuncts.filter((c) => hasForm(c.condition)).length;
    const literals = [...query.matchAll(/"([^"\n]*)"/g)].map((m) => m[1]);
    const event: Record<string, unknown> = {};
    q.fields.forEach((f, i) => { event[f] = literals[i % Math.max(1, literals.length)] ?? 'x'; });
    const run = q.start({ now: new Date('2024-05-01T00:00:00Z') });
    run.push({ _source: {} });
    run.push({ _source: event, _id: 'id', _index: 'idx' });
    run.finish();
  }
  const report = [...refused].map(([reason, files]) => `${files.length} ${reason}:\n  ${files.join('\n  ')}`).join('\n');
  console.log(`compiled ${compiled} of ${rules.length}\n${report}`);
  // Pushdown candidates: leading WHERE conjuncts, and those whose every part has a DSL shape
  // (whether it is pushed then depends on the field types the cluster reports).
  console.log(`${withLeading} rules have leading WHERE conjuncts: ${conjuncts}, of which ${structured} have a DSL shape`);
  assert.deepEqual([withLeading, conjuncts, structured], [178, 773, 712]);
  assert.deepEqual(
    Object.fromEntries([...refused].map(([r, f]) => [r, f.length])),
    {
      'not supported: COMPLETION': 7,
    },
    report,
  );
  assert.equal(compiled, 202);
});
