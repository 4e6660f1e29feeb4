"""Runs Endgame's Python `eql` command line (eql query ...) and reports the peak resident set
size on stderr as PEER_MAX_RSS_KB, so the benchmark reads the peer's memory as it reads
Lookout's (bench/rss.mjs)."""
import resource
import sys

from eql.main import main

try:
    main(sys.argv[1:])
finally:
    sys.stdout.flush()
    print("PEER_MAX_RSS_KB %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
