#!/usr/bin/env bash
# npm test: install, build, type-check, start Elasticsearch if none is configured, run every
# test (unit tests and integration tests against the real server) with Node's test runner.
#
# With ELASTICSEARCH_URL set, the tests run once against that cluster. Otherwise against the
# development Elasticsearch of each version in LOOKOUT_TEST_ES_VERSIONS (comma-separated, e.g.
# 7,8,9; default LOOKOUT_ES_VERSION, else 7), one after another: start, test, stop. The first
# version runs every test file, the next ones the files that talk to the server (tests that
# start nodes of their own start LOOKOUT_ES_VERSION, set to the version under test). Each run ends
# with a line `ℹ elasticsearch <version>: tests N, pass N, fail N`, taken from the runner's summary.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
npx tsc -p tsconfig.test.json
shopt -s globstar nullglob
files=(test/**/*.test.ts)
[ ${#files[@]} -gt 0 ] || { echo "no test files found" >&2; exit 1; }
# The files that need a server: they use the real-server helpers or read ELASTICSEARCH_URL.
server_files=()
for f in "${files[@]}"; do
  grep -qE "helpers/(es|cli|node)\.js|ELASTICSEARCH_URL" "$f" && server_files+=("$f")
done

# run_tests LABEL FILE... : the test runner, then the closing line for LABEL.
summary="$(mktemp "${TMPDIR:-/tmp}/lookout-test-XXXXXX")"
run_tests() {
  local label="$1" status=0; shift
  node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-reporter=spec "$@" "${runner_args[@]}" \
    | tee "$summary" || status=$?
  local tests pass fail
  tests="$(sed -n 's/^ℹ tests \([0-9]*\)$/\1/p' "$summary" | tail -n 1)"
  pass="$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$summary" | tail -n 1)"
  fail="$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$summary" | tail -n 1)"
  if [ "$status" = 0 ]; then
    echo "ℹ elasticsearch $label: tests ${tests:-?}, pass ${pass:-?}, fail ${fail:-?}"
  else
    echo "✖ elasticsearch $label: tests ${tests:-?}, pass ${pass:-?}, fail ${fail:-?} (test runner exit status $status)"
  fi
  return "$status"
}
runner_args=("$@")
trap 'stop_elasticsearch; rm -f "$summary"' EXIT

if [ -n "${ELASTICSEARCH_URL:-}" ]; then
  echo "using Elasticsearch at ELASTICSEARCH_URL" >&2
  version="$(curl -fsS "$ELASTICSEARCH_URL" 2>/dev/null | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')"
  run_tests "${version:-at ELASTICSEARCH_URL}" "${files[@]}"
  exit
fi

IFS=', ' read -r -a versions <<<"${LOOKOUT_TEST_ES_VERSIONS:-${LOOKOUT_ES_VERSION:-7}}"
failed=()
first=1
for v in "${versions[@]}"; do
  [ -n "$v" ] || continue
  # Tests that start nodes of their own (to kill them) start this version too.
  export LOOKOUT_ES_VERSION="$v"
  if ! start_elasticsearch "$v"; then
    echo "✖ elasticsearch $v: did not start" ; failed+=("$v"); continue
  fi
  label="$(curl -fsS "$ELASTICSEARCH_URL" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')"
  if [ "$first" = 1 ]; then run_tests "${label:-$v}" "${files[@]}" || failed+=("${label:-$v}")
  else run_tests "${label:-$v}" "${server_files[@]}" || failed+=("${label:-$v}"); fi
  first=0
  stop_elasticsearch
  unset ELASTICSEARCH_URL
done
if [ ${#versions[@]} -gt 1 ]; then
  if [ ${#failed[@]} -eq 0 ]; then echo "ℹ elasticsearch versions ${versions[*]}: all passed"
  else echo "✖ elasticsearch versions ${versions[*]}: failed on ${failed[*]}"; fi
fi
[ ${#failed[@]} -eq 0 ]
