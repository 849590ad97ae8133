// The pool's vocabulary: the workers (--workers N, SIGTTIN / SIGTTOU) and what spans them — signals and
// control commands in, rolling reloads, the final stop and tsdaemon's exit code out. Pure data, like types.ts.
import type { Effect, Event, LogEffect, Model, Settings } from './types.js';

/**
 * starting   not every worker has served yet (the first start);
 * running    every worker serves (or recovers from a crash on its own);
 * reloading  a rolling reload: one worker after the other gets a hot restart;
 * stopping   the final stop: every worker drains (or was killed);
 * stopped    every worker is over; tsdaemon exits.
 */
export type PoolPhase = 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped';

export type ReloadOutcome =
  | { ok: true; generation: number; pid?: number }
  /** queued: the reload could not run yet (the first start is still in progress) and runs once it is ready. */
  | { ok: false; error: string; queued?: boolean };

export type PoolEvent =
  | { type: 'start'; workers: number }
  /** SIGHUP (no id) or `tsdaemon reload` (id: its answer is an answer-reload effect). at: when, in ms. */
  | { type: 'reload'; why: string; id?: number; at?: number }
  | { type: 'stop'; signal: 'SIGTERM' | 'SIGINT' }
  | { type: 'quit'; signal: 'SIGQUIT' }
  | { type: 'report' }
  | { type: 'add-worker' }
  | { type: 'remove-worker' }
  | { type: 'forward'; signal: string }
  // What a worker tells the pool (its serving, reloaded, reload-failed, final-stop and exit effects):
  | { type: 'worker-ready'; worker: number; gen: number }
  | { type: 'worker-reloaded'; worker: number; gen: number; pid?: number }
  | { type: 'worker-reload-failed'; worker: number; reason: string }
  | { type: 'worker-final-stop'; worker: number }
  | { type: 'worker-ended'; worker: number; code: number };

export type PoolEventType = PoolEvent['type'];

export type PoolEffect =
  /** An event for a worker (start, reload, stop, quit, forward): the pool's way to steer its workers. */
  | { type: 'to-worker'; worker: number; event: Event }
  | LogEffect
  /** SIGUSR1: write the status line. */
  | { type: 'report' }
  /** SIGHUP also reopens the log file (after logrotate moved it). */
  | { type: 'reopen-log' }
  /** The answer to `tsdaemon reload` number id. */
  | { type: 'answer-reload'; id: number; outcome: ReloadOutcome }
  /** Every worker served once: tsdaemon's start is complete (tell --daemon's foreground, or a predecessor). */
  | { type: 'started' }
  /**
   * Every worker is in its final stop: tsdaemon closes its own copies of the listening sockets, so a socket
   * goes away (and new connections are refused, as with a plain server) once the last child closed its copy.
   */
  | { type: 'close-listeners' }
  | { type: 'exit'; code: number };

export interface WorkerSlot {
  /** TSDAEMON_WORKER. */
  index: number;
  /** The worker's own model (transition.ts). */
  model: Model;
  /** SIGTTOU chose it: it drains and is gone; the others go on. */
  retiring: boolean;
  /** A generation of it has served at least once. */
  served: boolean;
  /** Its final stop began. */
  finalStop: boolean;
}

/** A rolling reload: the workers one after the other, each one's successor ready before the next starts. */
export interface Round {
  /** The workers still to reload, the one reloading now first. */
  queue: number[];
  why: string;
  /** `tsdaemon reload` requests answered at the end of this round… */
  answering: number[];
  /** …and, when a reload arrived during it, at the end of one more round (again: its why, for the log). */
  again?: string;
  next: number[];
  /** What the last worker reloaded serves now. */
  last?: { gen: number; pid?: number };
}

export interface PoolModel {
  phase: PoolPhase;
  settings: Settings;
  workers: WorkerSlot[];
  /** A reload that arrived during the first start runs once every worker served (why, for the log). */
  queuedReload?: string;
  round?: Round;
  /** The exit code decided so far: of a worker that ended on its own, or the first one that failed its drain. */
  code?: number;
  /** Every worker is in its final stop and close-listeners was said. */
  listenersClosed: boolean;
  /** The last failure of a worker that is gone. */
  lastFailure?: string;
}

export interface PoolStep {
  model: PoolModel;
  effects: PoolEffect[];
}

/** What leaves the core for the interpreter: the pool's effects, and each worker's own, tagged with it. */
export type WorkerOutput = Extract<
  Effect,
  { type: 'spawn' | 'kill' | 'start-timer' | 'cancel-timer' | 'log' | 'warn-not-ready' }
> & { worker: number };

export type Output =
  | Exclude<PoolEffect, { type: 'to-worker' }>
  | WorkerOutput
  /** Tell systemd (sd_notify) about a change of the service's state. */
  | { type: 'notify'; message: 'READY=1' | 'RELOADING=1' | 'STOPPING=1'; status: string };

/** What goes into the core: an event for the pool, or one for a worker (its children, its timers). */
export type Input = PoolEvent | { type: 'worker-event'; worker: number; event: Event };
