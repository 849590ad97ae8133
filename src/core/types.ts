// One worker's vocabulary (a worker = one TSDAEMON_WORKER slot: its generations, restarts and drains):
// its phases, the events that reach it and the effects it asks for. Pure data: nothing here reads a
// clock, touches the OS or awaits. transition.ts holds the worker's table, pool.ts the pool of workers
// around it; docs/states.md says every decision in words.

/**
 * starting    the first generation is starting (nothing was ever ready);
 * running     one generation serves;
 * restarting  a hot restart: a new generation starts next to the serving one;
 * backoff     the child crashed: waiting out the backoff before the next start;
 * recovering  a generation started after a crash is starting, nothing serves;
 * draining    the final stop: children are told to stop (or serve out a lame-duck delay);
 * stopped     every child is gone and the exit code is decided.
 */
export type Phase = 'starting' | 'running' | 'restarting' | 'backoff' | 'recovering' | 'draining' | 'stopped';

/** Signals with a meaning of their own; every other one is forwarded to the children. */
export type ControlSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGUSR1';

export type Event =
  | { type: 'start' }
  /** at: when, in ms (the core reads no clock; the runtime stamps events that need a time). */
  | { type: 'spawned'; gen: number; pid: number; at?: number }
  /** The child could not be started at all; status is the exit code tsdaemon should use. */
  | { type: 'spawn-failed'; gen: number; status: number; reason: string }
  | { type: 'ready'; gen: number; how: string; at?: number }
  /** status: the exit code, or 128+N when the child died of signal N. */
  | { type: 'exited'; gen: number; code: number | null; signal: string | null; status: number; at?: number }
  /** A hot restart (SIGHUP, `tsdaemon reload`); answered with a reloaded or reload-failed effect. why: for the log. */
  | { type: 'reload'; why: string }
  /** The lame-duck drain (SIGTERM, SIGINT, a retiring worker). */
  | { type: 'stop'; why: string }
  /** The fast stop: every child SIGKILLed now; tsdaemon exits 128+N of signal. */
  | { type: 'quit'; signal: string }
  | { type: 'forward'; signal: string }
  | { type: 'ready-timeout'; gen: number; at?: number }
  /** A generation is still not ready: time for the next "not ready after N s" warning. */
  | { type: 'ready-slow'; gen: number }
  | { type: 'drain-deadline'; gen: number }
  | { type: 'lame-duck-delay-over' }
  /** The wait after a crash is over: start the next generation. */
  | { type: 'backoff-over' }
  /** The serving child's memory is over --max-memory: replace it with a hot restart. */
  | { type: 'over-memory'; gen: number; rssBytes: number; limitBytes: number };

export type EventType = Event['type'];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

export type TimerName = 'ready' | 'ready-warn' | 'deadline' | 'lame-duck-delay' | 'backoff';

export type Level = 'error' | 'warn' | 'info' | 'verbose' | 'debug';

/**
 * A log line. to: the line says a transition to that phase ("running -> draining (SIGTERM)"). state: the
 * prefix it is printed with, filled in by transition(): the phase it leads to, or for any other line the
 * phase in which its event happened.
 */
export interface LogEffect {
  type: 'log';
  level: Level;
  message: string;
  fields?: Record<string, string | number | boolean>;
  to?: string;
  state?: string;
}

export type Effect =
  | { type: 'spawn'; gen: number }
  /** Send a signal to a generation: to its main pid, or (group) to its whole process group. */
  | { type: 'kill'; gen: number; signal: string; group: boolean }
  | { type: 'start-timer'; timer: TimerName; gen: number; ms: number }
  | { type: 'cancel-timer'; timer: TimerName; gen: number }
  | LogEffect
  /** Warn that a generation is not ready after afterMs, naming what its threads wait in. */
  | { type: 'warn-not-ready'; gen: number; afterMs: number }
  // What the worker tells the pool around it (pool.ts):
  /** A generation became the serving one (first start, crash restart or hot restart). */
  | { type: 'serving'; gen: number; pid?: number }
  /** The reload asked for is done: gen serves. */
  | { type: 'reloaded'; gen: number; pid?: number }
  /** The reload asked for failed (or cannot run: the worker stops). */
  | { type: 'reload-failed'; reason: string }
  /**
   * The worker's final stop begins: it needs the listening sockets no more. Once every worker is there,
   * tsdaemon closes its own copies of them, so a socket goes away (and new connections are refused, as with
   * a plain server) once the last child closed its copy.
   */
  | { type: 'final-stop' }
  /** The worker is over (every child gone) and this is its exit code. */
  | { type: 'exit'; code: number };

export type EffectType = Effect['type'];

export interface Generation {
  id: number;
  pid?: number;
  /** starting: spawned, not yet ready; serving: the current one; stopping: told to stop (or killed). */
  status: 'starting' | 'serving' | 'stopping';
  /** SIGKILLed at its deadline, or by a fast stop. */
  killed: boolean;
  /** When it was spawned, and when it became ready. */
  startedAt?: number;
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
  /** A reload arrived while a generation was starting: one more restart follows once it is ready (why, for the log). */
  queuedRestart?: string;
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
  /** The final stop began (final-stop was said). */
  finalStop: boolean;
  /** A reload the pool asked for and that is not answered yet: answered by the first generation >= fromGen. */
  reload?: { fromGen: number };
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
