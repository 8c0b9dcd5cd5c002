// Preload (`node --require bench/reportMaxRss.cjs ...`) for machines without /usr/bin/time: prints the
// process's peak resident set size as one JSON line on stdout when it exits.
process.on('exit', () => {
  process.stdout.write(`\n{"maxRssBytes":${process.resourceUsage().maxRSS * 1024}}\n`);
});
