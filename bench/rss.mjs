// Loaded with `node --import` into the `lookout` process a benchmark starts: reports the
// process's peak resident set size and CPU time (user + system, all threads) on exit, so the
// figure is the real command's.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\nLOOKOUT_BENCH_MAX_RSS_KB ${u.maxRSS}\nLOOKOUT_BENCH_CPU_S ${((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(3)}\n`);
});
