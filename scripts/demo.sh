#!/usr/bin/env bash
# npm run demo [-- --version 7|8|9]: install, build, start Elasticsearch if none is configured
# (the development server of that version: --version, else LOOKOUT_ES_VERSION, else 7), load
# the sample data set, run the rules twice and show the alerts.
source "$(dirname "$0")/lib.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) export LOOKOUT_ES_VERSION="$2"; shift 2 ;;
    *) echo "demo.sh: unknown argument '$1' (expected --version 7|8|9)" >&2; exit 2 ;;
  esac
done
ensure_node_modules
ensure_elasticsearch
node dist/demo/main.js
