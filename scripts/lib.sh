# Shared by scripts/demo.sh, test.sh and bench.sh: install what is missing, build, and provide
# an Elasticsearch (the development one, unless ELASTICSEARCH_URL names a cluster).
# LOOKOUT_ES_VERSION chooses the development server's version: 7 (default), 8 or 9.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

ensure_node_modules() {
  command -v node >/dev/null || { echo "Node.js 20 or newer is needed (node not found)" >&2; exit 1; }
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "installing npm packages (npm ci)..." >&2
    npm ci --no-audit --no-fund >&2
  fi
  # tsc to dist/, then the command line's bundle (dist/bundle/, which bin/lookout.js loads).
  npm run --silent build >&2
}

started_es_data=""
ensure_elasticsearch() {
  if [ -n "${ELASTICSEARCH_URL:-}" ]; then
    echo "using Elasticsearch at ELASTICSEARCH_URL" >&2
    return 0
  fi
  start_elasticsearch "${LOOKOUT_ES_VERSION:-7}"
  trap stop_elasticsearch EXIT
}

# Starts the development Elasticsearch of that version (7, 8 or 9) in a new temporary data
# folder and exports ELASTICSEARCH_URL; stop_elasticsearch stops it and removes the folder.
start_elasticsearch() {
  started_es_data="$(mktemp -d "${TMPDIR:-/tmp}/lookout-es-XXXXXX")"
  echo "starting the development Elasticsearch $1 (data in $started_es_data)..." >&2
  ELASTICSEARCH_URL="$(bash devserver/elasticsearch.sh start --version "$1" --data "$started_es_data")" || return 1
  export ELASTICSEARCH_URL
  echo "development Elasticsearch $1 at $ELASTICSEARCH_URL" >&2
}

stop_elasticsearch() {
  if [ -n "$started_es_data" ]; then
    bash devserver/elasticsearch.sh stop --data "$started_es_data" || true
    rm -rf "$started_es_data"
    started_es_data=""
  fi
}
