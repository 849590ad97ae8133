// The supervisor's vocabulary: phases, the events that reach it and the effects it asks for. Pure data:
// nothing here reads a clock, touches the OS or awaits. runtime.ts turns events into calls of
// transition() and carries out the effects.

export type Phase = 'starting' | 'running' | 'restarting' | 'draining' | 'stopped';

/** Signals with a meaning of their own; every other one is forwarded to the children. */
export type ControlSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGUSR1';

export type Event =
  | { type: 'start' }
  | { type: 'spawned'; gen: number; pid: number }
  /** The child could not be started at all; status is the exit code tsdaemon should use. */
  | { type: 'spawn-failed'; gen: number; status: number; reason: string }
  /** at: when, in ms (the core reads no clock; the runtime stamps events that need a time). */
  | { type: 'ready'; gen: number; how: string; at?: number }
  /** status: the exit code, or 128+N when the child died of signal N. */
  | { type: 'exited'; gen: number; code: number | null; signal: string | null; status: number; at?: number }
  | { type: 'signal'; signal: ControlSignal }
  | { type: 'forward'; signal: string }
  | { type: 'ready-timeout'; gen: number }
  | { type: 'lame-duck-delay-over' }
  /** The wait after a crash is over: start the next generation. */
  | { type: 'backoff-over' }
  /** The serving child's memory is over --max-memory: replace it with a hot restart. */
  | { type: 'over-memory'; gen: number; rssBytes: number; limitBytes: number }
  | { type: 'drain-deadline'; gen: number }
  /** A generation is still not ready: time for the next "not ready after N s" warning. */
  | { type: 'ready-slow'; gen: number };

export type EventType = Event['type'];

export type TimerName = 'ready' | 'ready-warn' | 'deadline' | 'lame-duck-delay' | 'backoff';

export type Level = 'error' | 'warn' | 'info' | 'verbose' | 'debug';

export type Effect =
  | { type: 'spawn'; gen: number }
  /** Send a signal to a generation: to its main pid, or (group) to its whole process group. */
  | { type: 'kill'; gen: number; signal: string; group: boolean }
  | { type: 'start-timer'; timer: TimerName; gen: number; ms: number }
  | { type: 'cancel-timer'; timer: TimerName; gen: number }
  | { type: 'log'; level: Level; message: string; fields?: Record<string, string | number | boolean> }
  | { type: 'report' }
  /** Warn that a generation is not ready after afterMs, naming what its threads wait in. */
  | { type: 'warn-not-ready'; gen: number; afterMs: number }
  /**
   * The final stop begins: tsdaemon closes its own copies of the listening sockets, so a socket goes away
   * (and new connections are refused, as with a plain server) once the last child closed its copy.
   */
  | { type: 'close-listeners' }
  | { type: 'exit'; code: number };

export interface Generation {
  id: number;
  pid?: number;
  /** starting: spawned, not yet ready; serving: the current one; stopping: told to stop (or killed). */
  status: 'starting' | 'serving' | 'stopping';
  /** SIGKILLed at its deadline, or by a fast stop. */
  killed: boolean;
  /** When it became ready. */
  readyAt?: number;
  /** "Not ready yet" warnings logged for it so far. */
  readyWarnings: number;
}

export interface Settings {
  stopSignal: string;
  /** The stop signal's number, to recognise 128+N exits of shells as a clean stop. */
  stopSignalNumber: number;
  lameDuckMs: number;
  lameDuckDelayMs: number;
  readyTimeoutMs: number;
  /** When a serving child exits on its own: start it again always, only after a failure, or never. */
  restart: 'always' | 'on-failure' | 'never';
  /** Give up (exit with the child's status) after more than maxRestarts crash restarts within restartWindowMs. */
  maxRestarts: number;
  restartWindowMs: number;
  /** The wait before a crash restart: backoffInitialMs, doubling up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A child ready this long before it crashed resets the backoff. */
  stableAfterMs: number;
}

export interface Model {
  phase: Phase;
  settings: Settings;
  /** Every generation that is alive (spawned and not yet exited), oldest first. */
  generations: Generation[];
  nextGen: number;
  /** A SIGHUP arrived during a restart: run one more when this one ends. */
  restartQueued: boolean;
  restarts: number;
  /** Restarts that failed (the new generation exited, was not ready in time, or could not start). */
  failures: number;
  /** Crashes since the last child that stayed up long enough (drives the backoff). */
  crashes: number;
  /** When recent crash restarts happened (for the crash-loop window). */
  crashTimes: number[];
  lastFailure?: string;
  /** The status of a serving child that exited while its successor was starting (used if that one fails too). */
  crashStatus?: number;
  /** Why tsdaemon stops, which decides its exit code once every child is gone. */
  stop?: StopReason;
  /** The final stop closed tsdaemon's copies of the listening sockets (close-listeners). */
  listenersClosed: boolean;
}

export type StopReason =
  /** The serving child exited on its own: tsdaemon exits with its status. */
  | { kind: 'child-exit'; status: number }
  /** tsdaemon drains (SIGTERM/SIGINT): 0 when every child stopped cleanly. */
  | { kind: 'drain'; dirtyStatus?: number }
  /** A second SIGTERM/SIGINT or SIGQUIT: everything killed at once; exit 128+N of that signal. */
  | { kind: 'fast'; status: number }
  /** The first generation never became ready or could not start. */
  | { kind: 'failed-start'; status: number };

export interface Step {
  model: Model;
  effects: Effect[];
}
