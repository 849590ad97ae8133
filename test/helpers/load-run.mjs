#!/usr/bin/env node
// `node test/helpers/load-run.mjs PORT [CONNECTIONS]`: the load of load.mjs against 127.0.0.1:PORT until
// stdin ends, then its stats as one JSON line on stdout. For a load inside another network namespace
// (nsenter -n), where the test process itself cannot connect.
import { startLoad } from './load.mjs';

const load = startLoad({ port: Number(process.argv[2]), connections: Number(process.argv[3] ?? 8) });
process.stdin.resume();
process.stdin.on('end', async () => {
  const stats = await load.stop();
  process.stdout.write(
    `${JSON.stringify({ ok: stats.ok, failed: stats.failed, errors: Object.fromEntries(stats.errors), pids: [...stats.pids] })}\n`,
  );
});
