// systemd's notify protocol (sd_notify): when systemd started tsdaemon with NOTIFY_SOCKET set, tell it
// READY=1 once the first generation is ready, RELOADING=1 (with MONOTONIC_USEC) and READY=1 around a hot
// restart, STOPPING=1 on a drain, STATUS= lines, MAINPID= after a self-upgrade, and WATCHDOG=1 pings
// while the children are healthy (WATCHDOG_USEC). Node has no unix datagram sockets, so this uses
// tsdaemon's optional native addon; without it, tsdaemon warns once and goes on.
import { loadNative } from './native.js';

export interface Notifier {
  /** Send KEY=VALUE lines; a no-op when systemd is not listening. */
  send(...lines: string[]): void;
  /** microseconds between watchdog pings systemd expects, or undefined. */
  watchdogUsec?: number;
  close(): void;
}

const NOOP: Notifier = { send() {}, close() {} };

/** The notifier for this process, from NOTIFY_SOCKET (and WATCHDOG_USEC / WATCHDOG_PID). */
export function createNotifier(env: NodeJS.ProcessEnv, warn: (message: string) => void): Notifier {
  const path = env.NOTIFY_SOCKET;
  if (!path) return NOOP;
  const { addon, error } = loadNative();
  if (!addon) {
    warn(`NOTIFY_SOCKET is set but ${error}; systemd gets no notifications`);
    return NOOP;
  }
  let warned = false;
  const usec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined ? undefined : Number(env.WATCHDOG_PID);
  const notifier: Notifier = {
    send(...lines) {
      try {
        addon.notify(path, Buffer.from(lines.join('\n')));
      } catch (error) {
        // Once: a systemd that went away would otherwise fill the log with one line per ping.
        if (!warned) warn(`sd_notify to ${path}: ${(error as Error).message}`);
        warned = true;
      }
    },
    close() {},
  };
  if (Number.isFinite(usec) && usec > 0 && (watchdogPid === undefined || watchdogPid === process.pid)) {
    notifier.watchdogUsec = usec;
  }
  return notifier;
}

/** CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC. */
function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/**
 * The supervisor's notify(message, status): each message goes with STATUS=status. Silent once muted()
 * (after a hand-over on SIGUSR2 the successor speaks to systemd).
 */
export function supervisorNotify(
  notifier: Notifier,
  muted: () => boolean,
): (message: string, status: string) => void {
  return (message, status) => {
    if (muted()) return;
    // systemd's notify-reload protocol wants the time of a RELOADING=1 with it.
    const time = message === 'RELOADING=1' ? [`MONOTONIC_USEC=${monotonicUsec()}`] : [];
    notifier.send(message, ...time, `STATUS=${status}`);
  };
}

/** WATCHDOG=1 pings at half the WATCHDOG_USEC interval while serving() holds; returns the stop. */
export function startWatchdog(notifier: Notifier, serving: () => boolean): () => void {
  const watchdogUsec = notifier.watchdogUsec;
  if (watchdogUsec === undefined) return () => {};
  const timer = setInterval(
    () => {
      // Only while some child serves: a hung or crash-looping service lets the watchdog fire.
      if (serving()) notifier.send('WATCHDOG=1');
    },
    Math.max(1, Math.floor(watchdogUsec / 2000)),
  ).unref();
  return () => clearInterval(timer);
}
