/**
 * Preloaded into a child process the benchmark measures (`node --import …/peak-rss.js script`): on exit, the
 * process's peak resident set (getrusage's maxRSS, bytes) is written to the file `BENCH_PEAK_RSS_FILE` names.
 * Does nothing without it (the bench runner imports every module of this folder).
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
  });
}
