// Put bound stream sockets into the LISTEN state without the supervisor ever accepting on them.
//
// A one-shot Node process receives the sockets as fds 3.., calls listen(2) on each through a libuv handle
// and exits in the same tick, so its event loop never runs and it never accepts a connection
// (node-notes.md: 10,000/10,000 connections then went to the child). From then on the kernel queues
// connections in the backlog until a child accepts them, so nothing is refused between generations.
import { execa } from 'execa';
import { stdioWithFds } from './stdio.js';

// Runs as `node -e`. It prints one result per fd: 0, or the errno name of a failed listen(2).
const HELPER_SOURCE = `
const net = require('node:net');
const { getSystemErrorName } = require('node:util');
const backlogs = JSON.parse(process.argv[1]);
const results = backlogs.map((backlog, i) => {
  const handle = net._createServerHandle(null, null, null, 3 + i);
  if (typeof handle === 'number') return getSystemErrorName(handle);
  const err = handle.listen(backlog);
  return err === 0 ? 0 : getSystemErrorName(err);
});
process.stdout.write(JSON.stringify(results));
process.exit(0);
`;

export interface ListenRequest {
  fd: number;
  backlog: number;
}

/** Listen on every fd; resolves to one result per request: undefined when it worked, else the errno name. */
export async function listenInHelper(requests: ListenRequest[]): Promise<(string | undefined)[]> {
  if (requests.length === 0) return [];
  const result = await execa(
    process.execPath,
    ['-e', HELPER_SOURCE, JSON.stringify(requests.map((r) => r.backlog))],
    {
      stdio: stdioWithFds(
        ['ignore', 'pipe', 'pipe'],
        requests.map((r) => r.fd),
      ),
      // A clean environment: no NODE_OPTIONS preloads in a process that holds the sockets.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      extendEnv: false,
      reject: false,
      timeout: 30_000,
      forceKillAfterDelay: 1000,
      maxBuffer: 64 * 1024,
    },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(result.stdout));
  } catch {
    throw new Error(
      `the listen helper failed: ${result.shortMessage} ${String(result.stderr).trim()}`.trim(),
    );
  }
  if (!Array.isArray(parsed) || parsed.length !== requests.length) {
    throw new Error(`the listen helper answered ${String(result.stdout)}`);
  }
  return parsed.map((entry) => (entry === 0 ? undefined : String(entry)));
}
