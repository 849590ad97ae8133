// Shared by the launcher and bind-shim tests: a throwaway app directory, copies of the built tsdaemon with
// parts of native/ missing (an install where the addon or the bind shim could not be built), and hot
// restarts under load.
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoad } from './load.mjs';
import { ROOT, sleep, tempDir, worldReadableBin } from './tsdaemon.mjs';

export { tempDir };

/** A plain app: listen(PORT), answer {"pid"} (after ?ms=N), no signal handling of its own. */
export const PLAIN_SERVER = `const http = require('node:http');
const server = http.createServer((req, res) => {
  const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0);
  setTimeout(() => res.end(JSON.stringify({ pid: process.pid, ppid: process.ppid })), ms);
});
server.listen(Number(process.env.PORT), () => console.log('server.js listening, pid ' + process.pid));
`;

/** A temp dir with files (name -> text), and node_modules pointing at the repo's (tsx, yarn). */
export function appDir(t, files) {
  const dir = tempDir(t, 'tsdaemon-app-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * A copy of the built tsdaemon without the given native files: what an install looks like where the C
 * compiler was missing. Returns the copy's bin/tsdaemon.
 */
export const installWithout = (t, missing) => worldReadableBin(t, { without: missing });

/** SIGHUP `restarts` times under keep-alive load, each time until the new generation is ready and the old one exited. */
export async function restartUnderLoad(daemon, port, { restarts = 3, timeoutMs = 30_000 } = {}) {
  const load = startLoad({ port, connections: 6, timeoutMs: 20_000 });
  try {
    await sleep(300);
    for (let gen = 2; gen <= restarts + 1; gen++) {
      daemon.signal('SIGHUP');
      await daemon.waitFor(new RegExp(`generation ${gen} ready`), timeoutMs);
      await daemon.waitFor(new RegExp(`generation ${gen - 1} exited`), timeoutMs);
      await sleep(200);
    }
  } finally {
    await load.stop();
  }
  const { stats } = load;
  assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify([...stats.errors])} (ok ${stats.ok})`);
  assert.ok(stats.ok > 20, `requests were made (${stats.ok})`);
  return stats;
}

/** A request that takes ms, started now; resolves with its status or the error code. */
export function slowRequest(port, ms) {
  return fetch(`http://127.0.0.1:${port}/?ms=${ms}`).then(
    async (res) => ({ status: res.status, body: await res.json() }),
    (error) => ({ error: error.cause?.code ?? error.message }),
  );
}
