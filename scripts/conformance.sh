#!/usr/bin/env bash
# npm run conformance: regenerates docs/eql-conformance.md and docs/esql-conformance.md against a real Elasticsearch.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
node --import tsx scripts/eql-conformance.ts
node --import tsx scripts/esql-conformance.ts
