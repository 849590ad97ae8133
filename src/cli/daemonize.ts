// --daemon: the classic detach, for Type=forking units and init scripts. The foreground process starts a
// copy of tsdaemon in a new session (setsid) with stdio on the log file (or /dev/null), waits, and exits 0
// only once the daemon's first child is ready (the pidfile is written by then), or with the daemon's own
// exit code and error line when it fails (port in use, bad user, child not ready, …).
import { openSync } from 'node:fs';
import { startCopy } from './start-copy.js';

/**
 * In the foreground: start the daemon and resolve with the exit code to use. inheritedFds are fds the
 * daemon must find at the same numbers (--listen=&N).
 */
export async function daemonize(
  args: string[],
  logFile: string | undefined,
  inheritedFds: number[],
): Promise<number> {
  const out = logFile ? openSync(logFile, 'a', 0o640) : 'ignore';
  const highest = Math.max(2, ...inheritedFds);
  const fds: (number | 'ignore')[] = [];
  for (let fd = 3; fd <= highest; fd++) fds.push(inheritedFds.includes(fd) ? fd : 'ignore');
  const outcome = await startCopy(args, {
    starter: 'daemon',
    env: process.env,
    stdio: ['ignore', out, out],
    fds,
  });
  if (outcome.ok) {
    process.stderr.write(`tsdaemon: running in the background as pid ${outcome.pid}\n`);
    return 0;
  }
  process.stderr.write(`tsdaemon: ${outcome.error}\n`);
  return outcome.exitCode;
}
