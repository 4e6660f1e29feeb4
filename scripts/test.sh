#!/usr/bin/env bash
# npm test: install, build, type-check, start Elasticsearch if none is configured, run every
# test (unit tests and integration tests against the real server) with Node's test runner.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
npx tsc -p tsconfig.test.json
shopt -s globstar nullglob
files=(test/**/*.test.ts)
[ ${#files[@]} -gt 0 ] || { echo "no test files found" >&2; exit 1; }
node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-reporter=spec "${files[@]}" "$@"
