#!/usr/bin/env bash
# npm run bench: figures, not assertions; they also go to bench/RESULTS.md. Uses
# ELASTICSEARCH_URL, or starts the development Elasticsearch with a persistent data folder
# (.devserver-data/bench) so the generated index of BENCH_EVENTS (default 1,000,000) events is
# built once and reused.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
if [ -z "${ELASTICSEARCH_URL:-}" ]; then
  export LOOKOUT_ES_JAVA_OPTS="${LOOKOUT_ES_JAVA_OPTS:--Xms2g -Xmx2g}"
  ELASTICSEARCH_URL="$(bash devserver/elasticsearch.sh start --data "$root/.devserver-data/bench")"
  export ELASTICSEARCH_URL
  trap 'bash devserver/elasticsearch.sh stop --data "$root/.devserver-data/bench"' EXIT
fi
node --expose-gc --import tsx bench/run.ts | tee bench/RESULTS.md
