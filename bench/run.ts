/**
 * Benchmarks (npm run bench). Prints figures, asserts nothing about time; each figure counts only
 * if the planted attacks were all found, which is checked and printed with it. Scales: a day of
 * BENCH_SCALES events (default 1,000,000 and 10,000,000), indexed once and kept.
 *
 * 1. In-memory evaluation on one core: the WinRM sequence, a 20-rule mix from the prebuilt
 *    corpus, the Sigma count rule; memory per open sequence; adversarial wildcards.
 * 2. One scheduled execution (9-minute window): wall time, documents fetched, bytes.
 * 3. Backfill of the day with `lookout backfill` against a bare export: rate, peak RSS.
 * 4. N rules over the same indices, separate and sharing one read: variants of the WinRM rule
 *    (all accept the same events) and 50 different prebuilt rules.
 * 5. The cost of fetching fields: `_source` filtering, `fields`, `docvalue_fields`.
 * 6. Offline evaluation (`lookout test-rule`) beside Endgame's Python eql, on the same file.
 * 7. Start-up: `lookout validate` of the shipped rules and `lookout --help`, whole processes.
 * 8. The new_terms check: history size against window terms (bench/new-terms.ts).
 * 9. An ES|QL STATS rule over the day, aggregated in memory (bench/esql.ts).
 * 10. The Sigma count rule over 12 h beside ElastAlert2's cardinality rule (bench/count-rule.ts).
 *
 * BENCH_ONLY=offline runs figure 6 alone, BENCH_ONLY=startup figure 7 alone, BENCH_ONLY=mix
 * figure 1b alone (none of them needs Elasticsearch), BENCH_ONLY=new_terms figure 8 alone,
 * BENCH_ONLY=esql figure 9 alone (at each scale), BENCH_ONLY=count_rule figure 10 alone,
 * BENCH_ONLY=corpus_rules figure 4b alone (at each scale: BENCH_SCALES=1000000 for 1 M only).
 */
import { performance } from 'node:perf_hooks';
import { ElasticAlertSink, installAlertsTemplate } from '../src/alerts/writer.js';
import { loadConfig } from '../src/config/env.js';
import { compileWildcard } from '../src/eql/wildcard.js';
import { silentLogger } from '../src/logging/logger.js';
import { loadRules } from '../src/rules/load.js';
import { createClient } from '../src/search/client.js';
import { StateStore } from '../src/state/store.js';
import { backfillFigure, corpusRulesFigure, decodeFigure, manyRulesFigure, pointRuleAt, scheduledFigure } from './cluster.js';
import { ensureBenchData } from './data.js';
import { corpusFigure, sequenceMemoryFigure, sigmaFigure, winrmFigure } from './memory.js';
import { esqlStatsFigure } from './esql.js';
import { countRuleFigure } from './count-rule.js';
import { newTermsFigure } from './new-terms.js';
import { offlineFigure } from './offline.js';
import { startupFigure } from './startup.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

async function inMemoryFigures(winrm: Parameters<typeof winrmFigure>[0], sigma: Parameters<typeof sigmaFigure>[0]): Promise<void> {
  await winrmFigure(winrm, out);
  await corpusFigure(winrm, process.env.BENCH_CORPUS ?? '../shared/corpus/elastic-detection-rules', out);
  await sigmaFigure(sigma, out);
  sequenceMemoryFigure(winrm, out);
  {
    const text = 'a'.repeat(100_000);
    const figures = [['*a*a*a*a*b', text], ['*?a?*a?*a?*b*', text], ['*a*a*a*a*b', `${text}b`]].map(([pattern, subject]) => {
      const m = compileWildcard(pattern);
      const t = performance.now();
      let result = false;
      for (let i = 0; i < 100; i++) result = m(subject);
      return `${pattern} on ${subject.length === text.length ? '100 kB of a' : '100 kB of a then b'}: ${((performance.now() - t) / 100).toFixed(3)} ms (${result})`;
    });
    out(`1e. adversarial wildcards, time per match: ${figures.join('; ')}`);
  }
  await offlineFigure('.devserver-data/bench-offline', out);
  startupFigure(out);
}

async function main(): Promise<void> {
  const set = await loadRules(['rules/windows/lateral_movement_incoming_winrm_shell_execution.toml', 'rules/sigma/win_security_winrm_listening_service_reconnaissance.yml']);
  const winrm = set.rules.find((r) => r.compiled.kind === 'sequence')!;
  const sigma = set.rules.find((r) => r.compiled.kind === 'sigma')!;
  const scales = (process.env.BENCH_SCALES ?? '1000000,10000000').split(',').map(Number);
  out(`Lookout benchmarks: node ${process.version}, ${new Date().toISOString()}, ${(await import('node:os')).cpus().length} cores`);

  out('');
  const only = process.env.BENCH_ONLY || undefined;
  if (only !== undefined && !['offline', 'startup', 'mix', 'new_terms', 'esql', 'count_rule', 'corpus_rules'].includes(only)) {
    throw new Error(`BENCH_ONLY: expected offline, startup, mix, new_terms, esql, count_rule or corpus_rules, got '${only}'`);
  }
  if (only === 'offline') {
    await offlineFigure('.devserver-data/bench-offline', out);
    return;
  }
  if (only === 'startup') {
    startupFigure(out);
    return;
  }
  if (only === 'mix') {
    await corpusFigure(winrm, process.env.BENCH_CORPUS ?? '../shared/corpus/elastic-detection-rules', out, Number(process.env.BENCH_ROUNDS ?? 5));
    return;
  }
  // BENCH_FIGURES=server: only the scheduled-execution and backfill figures, the ones that
  // depend on the server (to compare Elasticsearch versions); default all.
  const figures = process.env.BENCH_FIGURES ?? 'all';
  if (figures !== 'all' && figures !== 'server') throw new Error(`BENCH_FIGURES: expected all or server, got '${figures}'`);
  const all = figures === 'all' && only === undefined;
  if (all) await inMemoryFigures(winrm, sigma);

  const config = loadConfig({ ...process.env, LOOKOUT_ALERTS_INDEX: 'lookout-bench-alerts', LOOKOUT_STATE_INDEX: 'lookout-bench-state' });
  const client = createClient(config.elasticsearch);
  try {
    const info = await client.info();
    if (only === 'new_terms') {
      out(`Elasticsearch ${info.version.number} (development node, same machine)`);
      await newTermsFigure(client, out);
      return;
    }
    if (only === 'count_rule') {
      out(`Elasticsearch ${info.version.number} (development node, same machine)`);
      await countRuleFigure(client, config.elasticsearch.url, '.devserver-data', out);
      return;
    }
    await client.indices.delete({ index: 'lookout-bench-alerts,lookout-bench-state', ignore_unavailable: true });
    await installAlertsTemplate(client, config.alertsIndex);
    const store = new StateStore(client, config.stateIndex);
    await store.install();
    const deps = { client, sink: new ElasticAlertSink(client, config.alertsIndex), store, logger: silentLogger(), pageSize: config.pageSize, readMode: config.readMode };
    for (const [i, total] of scales.entries()) {
      const data = await ensureBenchData(client, total, out);
      const rule = { ...pointRuleAt(winrm, data), maxSignals: 10_000 };
      out(`\nElasticsearch ${info.version.number} (development node, 2 GB heap, same machine), ${data.total.toLocaleString('en-US')} events over 24 h in ${data.pattern}` +
        (data.indexedSecs > 0 ? ` (indexed in this run: ${data.indexedSecs.toFixed(0)} s)` : ''));
      if (only === 'esql') {
        await esqlStatsFigure(deps, data, out);
        continue;
      }
      if (only === 'corpus_rules') {
        await corpusRulesFigure(deps, rule, data, process.env.BENCH_CORPUS ?? '../shared/corpus/elastic-detection-rules', out);
        continue;
      }
      await scheduledFigure(deps, rule, data, out);
      await backfillFigure(client, config.elasticsearch.url, data, out);
      if (!all) continue;
      await manyRulesFigure(deps, rule, data, out);
      await corpusRulesFigure(deps, rule, data, process.env.BENCH_CORPUS ?? '../shared/corpus/elastic-detection-rules', out);
      if (i === 0) await decodeFigure(client, rule, data, out);
      await esqlStatsFigure(deps, data, out);
    }
    if (all) await newTermsFigure(client, out);
    if (all) await countRuleFigure(client, config.elasticsearch.url, '.devserver-data', out);
    out(`\npeak RSS of the benchmark process itself (in-memory figures hold their data sets): ${Math.round(process.resourceUsage().maxRSS / 1024).toLocaleString('en-US')} MB`);
  } finally {
    await client.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
