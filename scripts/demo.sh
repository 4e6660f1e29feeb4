#!/usr/bin/env bash
# npm run demo: install, build, start Elasticsearch if none is configured, load the sample data
# set, run the rules twice and show the alerts.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
ensure_elasticsearch
node dist/demo/main.js
