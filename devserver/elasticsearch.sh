#!/usr/bin/env bash
# The development Elasticsearch: one real node embedded in a small Java launcher built with Maven
# from the artifacts Maven Central serves (7.17.29, 8.15.3 or 9.1.0).
#
#   devserver/elasticsearch.sh start [--version V] [--port N] [--data DIR]   start in the background, print the URL
#   devserver/elasticsearch.sh stop  [--version V] [--data DIR]              stop the node started with that data folder
#   devserver/elasticsearch.sh run   [--version V] [--port N] [--data DIR]   run in the foreground (Ctrl-C stops it)
#   devserver/elasticsearch.sh build [--version V]                           build the launcher (done on first use)
#
# --version: 7 (default; also 7.17, 7.17.29), 8 (8.15, 8.15.3) or 9 (9.1, 9.1.0); without it,
# LOOKOUT_ES_VERSION, else 7. Without --port a free port is chosen; without --data,
# .devserver-data/es<major>/ in the repository. The state of a started node (pid, url, log,
# version) is kept in the data folder, which serves one version only: a data folder written by
# a newer version cannot be opened by an older one, so the script refuses to mix them.
# Elasticsearch 9 needs Java 21 or newer: LOOKOUT_ES9_JAVA_HOME, else JAVA_HOME or `java` if new
# enough, else a JDK 21+ under /usr/lib/jvm; failing all, Debian's openjdk-21/25 package if any.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

cmd="${1:-}"; shift || true
port=0
data=""
version="${LOOKOUT_ES_VERSION:-7}"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    *) echo "elasticsearch.sh: unknown argument '$1' (expected --version V, --port N or --data DIR)" >&2; exit 2 ;;
  esac
done

case "$version" in
  7|7.17|7.17.29) major=7; full=7.17.29 ;;
  8|8.15|8.15.3) major=8; full=8.15.3 ;;
  9|9.1|9.1.0) major=9; full=9.1.0 ;;
  *) echo "elasticsearch.sh: unknown Elasticsearch version '$version' (expected 7, 8 or 9: 7.17.29, 8.15.3, 9.1.0)" >&2; exit 2 ;;
esac
[ -n "$data" ] || data="$here/../.devserver-data/es$major"

if [ "$major" = 7 ]; then
  module="$here"; target="$here/target"; jar="$target/lookout-devserver-1.0.0.jar"; profile=""
  sources=("$here/src/main/java/dev/lookout/devserver/EmbeddedElasticsearch.java")
else
  module="$here/modern"; target="$module/target/es$major"; jar="$target/lookout-devserver-modern-1.0.0.jar"; profile="-Pes$major"
  sources=("$module"/src/main/java/dev/lookout/devserver/*.java "$module"/src/es$major/java/org/elasticsearch/node/*.java)
fi

java_major() { # the feature version of a java binary (17, 21, 25...)
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

# Sets java_home (may be empty: the `java` on PATH) for this version.
find_java() {
  java_home=""
  if [ "$major" != 9 ]; then
    command -v java >/dev/null || { echo "elasticsearch.sh: a JDK 17 (java) is needed to run the development Elasticsearch $full" >&2; exit 1; }
    return 0
  fi
  local candidate
  for candidate in "${LOOKOUT_ES9_JAVA_HOME:-}" "${JAVA_HOME:-}"; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate/bin/java")" -ge 21 ]; then
      java_home="$candidate"; return 0
    fi
  done
  if command -v java >/dev/null && [ "$(java_major java)" -ge 21 ]; then
    java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"; return 0
  fi
  for candidate in /usr/lib/jvm/*/; do
    candidate="${candidate%/}"
    if [ -x "$candidate/bin/javac" ] && [ "$(java_major "$candidate/bin/java")" -ge 21 ]; then
      java_home="$candidate"; return 0
    fi
  done
  if command -v apt-get >/dev/null; then
    local pkg
    for pkg in openjdk-25-jdk-headless openjdk-21-jdk-headless; do
      if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "elasticsearch.sh: installing $pkg (Elasticsearch 9 needs Java 21 or newer)..." >&2
        apt-get install -y -q "$pkg" >&2 && { find_java; return 0; }
      fi
    done
  fi
  echo "elasticsearch.sh: Elasticsearch $full needs Java 21 or newer and none was found (LOOKOUT_ES9_JAVA_HOME, JAVA_HOME, java on PATH, /usr/lib/jvm/*, Debian packages openjdk-25/21-jdk-headless); set LOOKOUT_ES9_JAVA_HOME to a JDK 21+" >&2
  exit 1
}

java_bin() { if [ -n "$java_home" ]; then echo "$java_home/bin/java"; else echo java; fi; }

build() {
  local fresh=1 src
  if [ -f "$jar" ] && [ -d "$target/lib" ] && [ "$jar" -nt "$module/pom.xml" ]; then
    for src in "${sources[@]}"; do [ "$jar" -nt "$src" ] || fresh=0; done
  else
    fresh=0
  fi
  [ "$fresh" = 1 ] && return 0
  command -v mvn >/dev/null || { echo "elasticsearch.sh: Maven (mvn) is needed to build the development Elasticsearch" >&2; exit 1; }
  echo "building the development Elasticsearch $full launcher (first use downloads it from Maven Central)..." >&2
  if [ -n "$java_home" ]; then
    JAVA_HOME="$java_home" mvn -q -B -f "$module/pom.xml" $profile package -DskipTests >&2
  else
    mvn -q -B -f "$module/pom.xml" $profile package -DskipTests >&2
  fi
}

java_cmd() {
  local opts=()
  # 9.x: Lucene and Elasticsearch call native code through java.lang.foreign; say so, as the
  # distribution's jvm.options does, instead of a warning on every start.
  [ "$major" = 9 ] && opts+=(--enable-native-access=ALL-UNNAMED)
  exec_args=("$(java_bin)" ${LOOKOUT_ES_JAVA_OPTS:--Xms512m -Xmx1g} "${opts[@]}" -cp "$jar:$target/lib/*"
    dev.lookout.devserver.EmbeddedElasticsearch --port "$port" --data "$data")
}

# A data folder holds one version's node.
claim_data() {
  mkdir -p "$data"; data="$(cd "$data" && pwd)"
  if [ -f "$data/es.version" ] && [ "$(cat "$data/es.version")" != "$full" ]; then
    echo "elasticsearch.sh: data folder $data holds Elasticsearch $(cat "$data/es.version"), not $full; use another --data" >&2; exit 1
  fi
  echo "$full" >"$data/es.version"
}

case "$cmd" in
  build) find_java; build ;;
  run)
    find_java; build; claim_data; java_cmd
    exec "${exec_args[@]}" ;;
  start)
    find_java; build; claim_data
    if [ -f "$data/es.pid" ] && kill -0 "$(cat "$data/es.pid")" 2>/dev/null; then
      cat "$data/es.url"; exit 0
    fi
    rm -f "$data/es.url"
    java_cmd
    nohup "${exec_args[@]}" >"$data/es.log" 2>&1 </dev/null &
    echo $! >"$data/es.pid"
    for _ in $(seq 1 240); do
      if ! kill -0 "$(cat "$data/es.pid")" 2>/dev/null; then
        echo "elasticsearch.sh: the node ($full) exited during start-up; its log ($data/es.log) ends:" >&2
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
    [ -d "$data" ] && data="$(cd "$data" && pwd)"
    [ -f "$data/es.pid" ] || { echo "elasticsearch.sh: nothing started with data folder $data" >&2; exit 0; }
    pid="$(cat "$data/es.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$data/es.pid" "$data/es.url" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
