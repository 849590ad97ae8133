// Which signals tsdaemon handles and which it forwards (the table in docs/protocol.md). Handlers go in at the very start of
// the process, before anything slow: without a SIGUSR1 listener Node opens its inspector on
// 127.0.0.1:9229 (code execution as whoever runs tsdaemon), and a SIGTERM that arrives during start-up
// must still drain instead of killing tsdaemon with sockets and files half made.
import type { ControlSignal } from '../../core/types.js';

export const CONTROL_SIGNALS: readonly ControlSignal[] = [
  'SIGHUP',
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
  'SIGUSR1',
];

/**
 * Taken over too, and forwarded unchanged to the children (as tini does), except the ones the pool
 * handles itself: SIGUSR2 (self-upgrade), SIGTTIN / SIGTTOU (one worker more / fewer). Not SIGPROF (V8's
 * profiler), not SIGPIPE or SIGCHLD (libuv's), and not the synchronous faults (SEGV, BUS, FPE, ILL),
 * which Node reserves.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGUSR2',
  'SIGWINCH',
  'SIGALRM',
  'SIGCONT',
  'SIGTTIN',
  'SIGTTOU',
  'SIGPWR',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
];

export type SignalSink = (signal: NodeJS.Signals) => void;

// One instance in the process: the bundle's entry (src/main.ts) installs the handlers before any other
// module of the bundle is evaluated, and everything else in the bundle shares this module.
const state: { installed: boolean; sink?: SignalSink; early: NodeJS.Signals[] } = {
  installed: false,
  early: [],
};

const handler = (signal: NodeJS.Signals): void => {
  if (state.sink) state.sink(signal);
  else state.early.push(signal);
};

/** Take over every handled and forwarded signal now; until a sink is attached, signals are queued. */
export function installSignalHandlers(): void {
  if (state.installed) return;
  state.installed = true;
  for (const signal of [...CONTROL_SIGNALS, ...FORWARDED_SIGNALS]) process.on(signal, handler);
}

/** Give the signals back to Node's defaults (for the short-lived control commands). */
export function uninstallSignalHandlers(): void {
  if (!state.installed) return;
  state.installed = false;
  for (const signal of [...CONTROL_SIGNALS, ...FORWARDED_SIGNALS]) process.off(signal, handler);
  process.on('SIGUSR1', () => {});
}

/** Deliver signals (first the ones queued during start-up) to sink. Returns a detach function. */
export function onSignal(next: SignalSink): () => void {
  state.sink = next;
  for (const signal of state.early.splice(0)) next(signal);
  return () => {
    state.sink = undefined;
  };
}

export function isControlSignal(signal: string): signal is ControlSignal {
  return (CONTROL_SIGNALS as readonly string[]).includes(signal);
}
