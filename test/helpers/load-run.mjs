#!/usr/bin/env node
// `node test/helpers/load-run.mjs PORT [CONNECTIONS]`: the load of load.mjs against 127.0.0.1:PORT, for a
// load inside another network namespace (nsenter -n), where the test process itself cannot connect. Prints
// `pid N` for each app pid that answered (the first one says the load runs), and, once stdin ends, its
// stats as one JSON line.
import { startLoad } from './load.mjs';

const load = startLoad({ port: Number(process.argv[2]), connections: Number(process.argv[3] ?? 8) });
const seen = new Set();
const report = setInterval(() => {
  for (const pid of load.stats.pids) {
    if (seen.has(pid)) continue;
    seen.add(pid);
    process.stdout.write(`pid ${pid}\n`);
  }
}, 20);
process.stdin.resume();
process.stdin.on('end', async () => {
  const stats = await load.stop();
  clearInterval(report);
  process.stdout.write(
    `${JSON.stringify({ ok: stats.ok, failed: stats.failed, errors: Object.fromEntries(stats.errors), pids: [...stats.pids] })}\n`,
  );
});
