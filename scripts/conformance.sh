#!/usr/bin/env bash
# npm run conformance: regenerates docs/eql-conformance.md, docs/kql-conformance.md and
# docs/esql-conformance.md against a real Elasticsearch (`npm run conformance -- eql`, `-- kql`
# or `-- esql` for one of them).
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
status=0
for lang in eql kql esql; do
  if [ "${1:-all}" = all ] || [ "${1:-all}" = "$lang" ]; then node --import tsx "scripts/$lang-conformance.ts" || status=1; fi
done
exit $status
