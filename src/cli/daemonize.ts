// --daemon: the classic detach, for Type=forking units and init scripts. The foreground process starts a
// copy of tsdaemon in a new session (setsid) with stdio on the log file (or /dev/null), waits, and exits 0
// only once the daemon's first child is ready (the pidfile is written by then), or with the daemon's own
// exit code and error line when it fails (port in use, bad user, child not ready, …).

import { openSync } from 'node:fs';
import { execa } from 'execa';
import { stdioWithFds } from '../os/stdio.js';

/**
 * Set in the environment of a tsdaemon started by another one: "daemon" (--daemon) or "upgrade" (SIGUSR2).
 * Not a TSDAEMON_ option, so it is never read as one.
 */
export const STARTER_MARKER = '__TSDAEMON_STARTED_BY';

type StartMessage = { ready: true; pid: number } | { error: string; exitCode: number };

/** In a tsdaemon started by another one: tell it how the start went. No-op elsewhere. */
export function reportToStarter(message: StartMessage): void {
  if (!process.env[STARTER_MARKER] || typeof process.send !== 'function' || !process.connected) return;
  process.send(message, () => {
    if (process.connected) process.disconnect();
  });
}

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
  const extra: (number | 'ignore')[] = [];
  for (let fd = 3; fd <= highest; fd++) extra.push(inheritedFds.includes(fd) ? fd : 'ignore');
  const daemon = execa(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], {
    env: { [STARTER_MARKER]: 'daemon' },
    detached: true,
    stdio: stdioWithFds(['ignore', out, out], extra),
    ipc: true,
    serialization: 'json',
    reject: false,
    buffer: false,
    cleanup: false,
    forceKillAfterDelay: false,
  });
  return new Promise((resolve) => {
    let settled = false;
    const settle = (code: number, line?: string) => {
      if (settled) return;
      settled = true;
      if (line) process.stderr.write(`${line}\n`);
      daemon.unref();
      daemon.channel?.unref();
      resolve(code);
    };
    daemon.on('message', (message: StartMessage) => {
      if ('ready' in message) settle(0, `tsdaemon: running in the background as pid ${message.pid}`);
      else settle(message.exitCode, `tsdaemon: ${message.error}`);
    });
    daemon.on('exit', (code, signal) =>
      settle(code ?? 1, `tsdaemon: the daemon exited during start-up (${signal ?? `code ${code}`})`),
    );
  });
}
