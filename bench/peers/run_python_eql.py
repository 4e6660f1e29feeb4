"""Runs Endgame's Python `eql` command line (eql query ...) and reports the peak resident set
size on stderr as PEER_MAX_RSS_KB and its CPU time (user + system) as PEER_CPU_S, so the
benchmark reads the peer's memory and CPU as it reads Lookout's (bench/rss.mjs).

Its name must not start with `eql`: the eql package imports every top-level module named
`eql_*` on the path as a plugin (eql.utils.load_extensions), and this file, then named
eql_peer.py, was imported that way and ran the whole query a second time."""
import resource
import sys

from eql.main import main

try:
    main(sys.argv[1:])
finally:
    sys.stdout.flush()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("PEER_MAX_RSS_KB %d" % usage.ru_maxrss, file=sys.stderr)
    print("PEER_CPU_S %.3f" % (usage.ru_utime + usage.ru_stime), file=sys.stderr)
