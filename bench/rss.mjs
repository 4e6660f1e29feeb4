// Loaded with `node --import` into the `lookout` process a benchmark starts: reports the
// process's peak resident set size on exit, so the figure is the real command's.
process.on('exit', () => {
  process.stderr.write(`\nLOOKOUT_BENCH_MAX_RSS_KB ${process.resourceUsage().maxRSS}\n`);
});
