#!/usr/bin/env bash
# npm run conformance: regenerates docs/eql-conformance.md and docs/kql-conformance.md against a
# real Elasticsearch (`npm run conformance -- eql` or `-- kql` for one of them).
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
status=0
if [ "${1:-all}" != kql ]; then node --import tsx scripts/eql-conformance.ts || status=1; fi
if [ "${1:-all}" != eql ]; then node --import tsx scripts/kql-conformance.ts || status=1; fi
exit $status
