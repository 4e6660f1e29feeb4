#!/usr/bin/env bash
# The development Elasticsearch (7.17, embedded in a small Java launcher built with Maven).
#
#   devserver/elasticsearch.sh start [--port N] [--data DIR]   start in the background, print the URL
#   devserver/elasticsearch.sh stop  [--data DIR]              stop the node started with that data folder
#   devserver/elasticsearch.sh run   [--port N] [--data DIR]   run in the foreground (Ctrl-C stops it)
#   devserver/elasticsearch.sh build                           build the launcher (done on first use)
#
# Without --port a free port is chosen; without --data, .devserver-data/ in the repository.
# The state of a started node (pid, url, log) is kept in the data folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/lookout-devserver-1.0.0.jar"

cmd="${1:-}"; shift || true
port=0
data="$here/../.devserver-data"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "elasticsearch.sh: unknown argument '$1' (expected --port N or --data DIR)" >&2; exit 2 ;;
  esac
done

build() {
  if [ -f "$jar" ] && [ -d "$here/target/lib" ] && [ "$jar" -nt "$here/pom.xml" ] \
     && [ "$jar" -nt "$here/src/main/java/dev/lookout/devserver/EmbeddedElasticsearch.java" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { echo "elasticsearch.sh: Maven (mvn) is needed to build the development Elasticsearch" >&2; exit 1; }
  command -v java >/dev/null || { echo "elasticsearch.sh: a JDK 17 (java) is needed to run the development Elasticsearch" >&2; exit 1; }
  echo "building the development Elasticsearch launcher (first use downloads Elasticsearch 7.17 from Maven Central)..." >&2
  mvn -q -B -f "$here/pom.xml" package -DskipTests >&2
}

java_cmd() {
  exec_args=(java ${LOOKOUT_ES_JAVA_OPTS:--Xms512m -Xmx1g} -cp "$jar:$here/target/lib/*"
    dev.lookout.devserver.EmbeddedElasticsearch --port "$port" --data "$data")
}

case "$cmd" in
  build) build ;;
  run)
    build; mkdir -p "$data"; data="$(cd "$data" && pwd)"; java_cmd
    exec "${exec_args[@]}" ;;
  start)
    build; mkdir -p "$data"; data="$(cd "$data" && pwd)"
    if [ -f "$data/es.pid" ] && kill -0 "$(cat "$data/es.pid")" 2>/dev/null; then
      cat "$data/es.url"; exit 0
    fi
    rm -f "$data/es.url"
    java_cmd
    nohup "${exec_args[@]}" >"$data/es.log" 2>&1 </dev/null &
    echo $! >"$data/es.pid"
    for _ in $(seq 1 240); do
      if ! kill -0 "$(cat "$data/es.pid")" 2>/dev/null; then
        echo "elasticsearch.sh: the node exited during start-up; its log ($data/es.log) ends:" >&2
        tail -n 40 "$data/es.log" >&2; exit 1
      fi
      url="$(sed -n 's/^LOOKOUT_ES_URL=//p' "$data/es.log" | head -n 1)"
      if [ -n "$url" ] && curl -fsS "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
        echo "$url" >"$data/es.url"; echo "$url"; exit 0
      fi
      sleep 0.5
    done
    echo "elasticsearch.sh: no answer after 120 s; log: $data/es.log" >&2; exit 1 ;;
  stop)
    [ -f "$data/es.pid" ] || { echo "elasticsearch.sh: nothing started with data folder $data" >&2; exit 0; }
    pid="$(cat "$data/es.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$data/es.pid" "$data/es.url" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
