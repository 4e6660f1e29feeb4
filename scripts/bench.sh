#!/usr/bin/env bash
# npm run bench [-- --version 7|8|9]: figures, not assertions. Uses ELASTICSEARCH_URL, or starts
# the development Elasticsearch of that version (--version, else LOOKOUT_ES_VERSION, else 7)
# with a persistent data folder per version (.devserver-data/bench for 7.17, bench-es8,
# bench-es9) so the generated index of BENCH_SCALES events is built once and reused. The
# figures go to bench/RESULTS.md (7.17) or bench/RESULTS-es<major>.md, headed by the server's
# version. BENCH_FIGURES=server runs only the figures that depend on the server (scheduled
# execution and backfill), leaving out the in-memory ones and the rest, into
# bench/RESULTS-server-es<major>.md. BENCH_ONLY=new_terms runs the new_terms figure alone (sizes in
# BENCH_NEW_TERMS_HISTORY and BENCH_NEW_TERMS_WINDOW), into bench/RESULTS-new-terms-es<major>.md.
source "$(dirname "$0")/lib.sh"
version="${LOOKOUT_ES_VERSION:-7}"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    *) echo "bench.sh: unknown argument '$1' (expected --version 7|8|9)" >&2; exit 2 ;;
  esac
done
case "$version" in
  7|7.17|7.17.29) major=7 ;; 8|8.15|8.15.3) major=8 ;; 9|9.1|9.1.0) major=9 ;;
  *) echo "bench.sh: unknown Elasticsearch version '$version' (expected 7, 8 or 9)" >&2; exit 2 ;;
esac
ensure_node_modules
# The full run on 7.17 is the README's reference; other versions and partial runs go beside it.
results=bench/RESULTS.md
[ "$major" = 7 ] || results="bench/RESULTS-es$major.md"
[ "${BENCH_FIGURES:-all}" = all ] || results="bench/RESULTS-${BENCH_FIGURES}-es$major.md"
# BENCH_ONLY=offline|startup|mix: one figure that needs no Elasticsearch, into bench/RESULTS-<figure>.md;
# BENCH_ONLY=new_terms: the new_terms figure, on the server, into bench/RESULTS-new-terms-es<major>.md;
# BENCH_ONLY=count_rule: the Sigma count rule beside ElastAlert2, into bench/RESULTS-count-rule-es<major>.md.
[ -z "${BENCH_ONLY:-}" ] || results="bench/RESULTS-$BENCH_ONLY.md"
[ "${BENCH_ONLY:-}" != new_terms ] || results="bench/RESULTS-new-terms-es$major.md"
[ "${BENCH_ONLY:-}" != count_rule ] || results="bench/RESULTS-count-rule-es$major.md"
# BENCH_ONLY=esql: the ES|QL STATS figure at each of BENCH_SCALES, into bench/RESULTS-esql-es<major>.md.
[ "${BENCH_ONLY:-}" != esql ] || results="bench/RESULTS-esql-es$major.md"
# BENCH_ONLY=corpus_rules: figure 4b (50 different rules, shared read) at each of BENCH_SCALES, into bench/RESULTS-corpus-rules-es<major>.md.
[ "${BENCH_ONLY:-}" != corpus_rules ] || results="bench/RESULTS-corpus-rules-es$major.md"
if [ -z "${ELASTICSEARCH_URL:-}" ] && { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = new_terms ] || [ "$BENCH_ONLY" = esql ] || [ "$BENCH_ONLY" = count_rule ] || [ "$BENCH_ONLY" = corpus_rules ]; }; then
  export LOOKOUT_ES_JAVA_OPTS="${LOOKOUT_ES_JAVA_OPTS:--Xms2g -Xmx2g}"
  bench_data="$root/.devserver-data/bench"
  [ "$major" = 7 ] || bench_data="$root/.devserver-data/bench-es$major"
  ELASTICSEARCH_URL="$(bash devserver/elasticsearch.sh start --version "$major" --data "$bench_data")"
  export ELASTICSEARCH_URL
  trap 'bash devserver/elasticsearch.sh stop --data "$bench_data"' EXIT
fi
node --expose-gc --import tsx bench/run.ts | tee "$results"
