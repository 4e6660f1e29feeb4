#!/usr/bin/env bash
# npm run sigma-report: regenerates docs/sigma-report.md against a real Elasticsearch.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
node --import tsx scripts/sigma-report.ts
