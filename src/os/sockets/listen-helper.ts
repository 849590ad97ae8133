// Put bound stream sockets into the LISTEN state without the supervisor ever accepting on them, and hand
// every socket over in blocking mode. With tsdaemon's native addon that is listen(2) and fcntl(2) on the
// fds, in-process; without it, a helper process does it as described here.
//
// A one-shot Node process receives the sockets as fds 3.., calls listen(2) on the stream sockets that need
// it through a libuv handle and exits in the same tick, so its event loop never runs and it never accepts a
// connection (measured: 10,000 of 10,000 connections then went to the child, none to the parent). From then on the kernel
// queues connections in the backlog until a child accepts them, so nothing is refused between generations.
//
// Blocking mode: libuv made each socket O_NONBLOCK when tsdaemon wrapped it, and that flag lives on the
// open file description the children share. A child that accepts the systemd way (Python's
// socket.socket(fileno=3).accept(), a C server) expects a blocking socket, as systemd passes them; Node
// and Go children set O_NONBLOCK again themselves. The helper clears it with uv_stream_set_blocking (a UDP
// socket is opened as a pipe handle for that one call: libuv checks nothing else).
import { getSystemErrorName } from 'node:util';
import { execa } from 'execa';
import { loadNative, type NativeAddon } from '../native.js';
import { stdioWithFds } from '../process/stdio.js';

// Runs as `node -e`. It prints one result per fd: 0, or the errno name of what failed.
const HELPER_SOURCE = `
process.noDeprecation = true;
const net = require('node:net');
const { getSystemErrorName } = require('node:util');
const { Pipe } = process.binding('pipe_wrap');
const requests = JSON.parse(process.argv[1]);
const results = requests.map(({ stream, backlog, blocking }, i) => {
  const fd = 3 + i;
  const handle = stream ? net._createServerHandle(null, null, null, fd) : new Pipe(0);
  if (typeof handle === 'number') return getSystemErrorName(handle);
  if (!stream) {
    const err = handle.open(fd);
    if (err !== 0) return getSystemErrorName(err);
  }
  if (backlog !== null) {
    const err = handle.listen(backlog);
    if (err !== 0) return getSystemErrorName(err);
  }
  if (!blocking) return 0;
  const err = handle.setBlocking(true);
  return err === 0 ? 0 : getSystemErrorName(err);
});
process.stdout.write(JSON.stringify(results));
process.exit(0);
`;

export interface HandOverRequest {
  fd: number;
  /** A stream socket (tcp, unix) or a datagram one (udp). */
  stream: boolean;
  /** Listen with this backlog; null to leave the socket's state alone (already listening, or udp). */
  backlog: number | null;
  /**
   * Clear O_NONBLOCK. Only for sockets tsdaemon made: an inherited one may be in use right now (by the
   * children of the supervisor we take over from on SIGUSR2), and a Node child's event loop would block
   * in accept() on a socket turned blocking under it.
   */
  blocking: boolean;
}

/** Prepare every socket; resolves to one result per request: undefined when it worked, else the errno name. */
export async function handOverInHelper(requests: HandOverRequest[]): Promise<(string | undefined)[]> {
  if (requests.length === 0) return [];
  // With the native addon, the same two system calls in-process: no helper process to start (~50 ms).
  const { addon } = loadNative();
  if (addon) return requests.map((request) => handOverNatively(addon, request));
  const result = await execa(
    process.execPath,
    [
      '-e',
      HELPER_SOURCE,
      JSON.stringify(requests.map(({ stream, backlog, blocking }) => ({ stream, backlog, blocking }))),
    ],
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

function handOverNatively(
  addon: NativeAddon,
  { fd, backlog, blocking }: HandOverRequest,
): string | undefined {
  const listened = backlog === null ? 0 : addon.listen(fd, backlog);
  const errno = listened !== 0 ? listened : blocking ? addon.setBlocking(fd) : 0;
  return errno === 0 ? undefined : getSystemErrorName(-errno);
}
