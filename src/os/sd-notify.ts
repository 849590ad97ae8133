// systemd's notify protocol (sd_notify): when systemd started tsdaemon with NOTIFY_SOCKET set, tell it
// READY=1 once the first generation is ready, RELOADING=1 (with MONOTONIC_USEC) and READY=1 around a hot
// restart, STOPPING=1 on a drain, STATUS= lines, MAINPID= after a self-upgrade, and WATCHDOG=1 pings
// while the children are healthy (WATCHDOG_USEC). Node has no unix datagram sockets, so this uses the
// optional native module unix-dgram; without it, tsdaemon warns once and goes on.
import { createRequire } from 'node:module';

export interface Notifier {
  /** Send KEY=VALUE lines; a no-op when systemd is not listening. */
  send(...lines: string[]): void;
  /** microseconds between watchdog pings systemd expects, or undefined. */
  watchdogUsec?: number;
  close(): void;
}

interface DgramSocket {
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    path: string,
    callback?: (error?: Error) => void,
  ): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}

const NOOP: Notifier = { send() {}, close() {} };

/** The notifier for this process, from NOTIFY_SOCKET (and WATCHDOG_USEC / WATCHDOG_PID). */
export function createNotifier(env: NodeJS.ProcessEnv, warn: (message: string) => void): Notifier {
  const path = env.NOTIFY_SOCKET;
  if (!path) return NOOP;
  if (path.startsWith('@')) {
    warn(`NOTIFY_SOCKET=${path} is an abstract socket, which unix-dgram cannot reach; no notifications`);
    return NOOP;
  }
  let socket: DgramSocket;
  try {
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
    socket = unix.createSocket('unix_dgram');
  } catch (error) {
    warn(
      `NOTIFY_SOCKET is set but the optional module unix-dgram cannot load (${(error as Error).message}); systemd gets no notifications`,
    );
    return NOOP;
  }
  socket.on('error', (error) => warn(`sd_notify: ${error.message}`));
  const usec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined ? undefined : Number(env.WATCHDOG_PID);
  const notifier: Notifier = {
    send(...lines) {
      const message = Buffer.from(lines.join('\n'));
      socket.send(message, 0, message.length, path);
    },
    close: () => socket.close(),
  };
  if (Number.isFinite(usec) && usec > 0 && (watchdogPid === undefined || watchdogPid === process.pid)) {
    notifier.watchdogUsec = usec;
  }
  return notifier;
}

/** CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC. */
export function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}
