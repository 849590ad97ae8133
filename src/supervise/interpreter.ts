// Where the core meets the world: inputs (signals, control commands, a child's fate, a timer) go into
// step() one at a time, and the effects that come out are carried out through the dependencies given
// here: processes, timers, the log, systemd. It decides nothing; core/ does. run.ts gives it the real
// dependencies, the tests fake ones.
import type { Input, Output, ReloadOutcome } from '../core/pool-types.js';
import { initialSupervisor, type SupervisorModel, serviceState, step } from '../core/supervisor.js';
import type { Event, Level, Settings, TimerName } from '../core/types.js';
import { reportFields, type SupervisorStatus, statusOf } from './status.js';

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Start generation gen of a worker: spawn it and report what becomes of it (spawned, spawn-failed, ready,
 * exited; each at most once, exited last). Returns its pid, or undefined when nothing could be started
 * (spawn-failed follows).
 */
export type Launch = (worker: number, gen: number, report: (event: Event) => void) => number | undefined;

export interface InterpreterDeps {
  launch: Launch;
  /** Signal pid, or (group) its process group; false when it is gone. */
  kill(pid: number, signal: string, group: boolean): boolean;
  clock: Clock;
  /** Does pid accept on a listening socket? (A reload is answered once the old generations stopped.) */
  isAccepting(pid: number): boolean;
  /** What a generation that is slow to get ready waits in, and what the operator can do. */
  describeNotReady(pid: number): string;
  log(level: Level, message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  /** The state the next log lines are printed with. */
  showState(state: string): void;
  reopenLog(): void;
  notify(message: string, status: string): void;
  /** Every worker served once. */
  started(): void;
  /** Every worker is in its final stop: close tsdaemon's copies of the listening sockets. */
  closeListeners(): void;
  /** SIGUSR2: replace tsdaemon itself; without it, SIGUSR2 is forwarded like any other signal. */
  upgrade?: () => void;
  /** tsdaemon's own pid, RSS and listeners, for the status. */
  pid: number;
  rssBytes(): number;
  listeners: SupervisorStatus['listeners'];
}

/** What the control socket can ask of a running supervisor. */
export interface Supervisor {
  /** Resolves with tsdaemon's exit code once the core decided to exit. */
  done: Promise<number>;
  status(): SupervisorStatus;
  /** A hot restart, as SIGHUP; resolves once every worker's new generation serves, or the restart failed. */
  reload(): Promise<ReloadOutcome>;
  /** A lame-duck drain, as SIGTERM. */
  stop(): void;
}

export interface Interpreter extends Supervisor {
  /** A signal tsdaemon received. */
  signal(signal: string): void;
  dispatch(input: Input): void;
  model(): SupervisorModel;
}

/** The longest a reload's answer waits for the old generations to stop accepting. */
const STOP_ACCEPTING_WAIT_MS = 1000;
const STOP_ACCEPTING_POLL_MS = 5;

const TIMER_EVENTS: Record<TimerName, (gen: number) => Event> = {
  ready: (gen) => ({ type: 'ready-timeout', gen }),
  'ready-warn': (gen) => ({ type: 'ready-slow', gen }),
  deadline: (gen) => ({ type: 'drain-deadline', gen }),
  backoff: () => ({ type: 'backoff-over' }),
  'lame-duck-delay': () => ({ type: 'lame-duck-delay-over' }),
};

/** Start supervising `workers` workers. */
export function createInterpreter(settings: Settings, workers: number, deps: InterpreterDeps): Interpreter {
  const { clock } = deps;
  const startedAt = clock.now();
  let model = initialSupervisor(settings);
  const timers = new Map<string, unknown>();
  /** The live children by "worker:gen". */
  const children = new Map<string, { pid: number; startedAt: number }>();
  const reloads = new Map<number, (outcome: ReloadOutcome) => void>();
  let nextReload = 1;
  const queue: Input[] = [];
  let busy = false;
  /** The child whose exit is being handled: the SIGKILL of its group is a clean-up, not news. */
  let exiting = '';
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const key = (worker: number, gen: number) => `${worker}:${gen}`;
  const tagged = (worker: number, fields: Record<string, string | number | boolean> = {}) =>
    workers > 1 || worker > 0 ? { worker, ...fields } : fields;

  /** Inputs are handled one at a time, in order: one that arrives while effects run waits its turn. */
  const dispatch = (input: Input): void => {
    queue.push(input);
    if (busy) return;
    busy = true;
    try {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) handle(next);
    } finally {
      busy = false;
    }
  };

  const handle = (input: Input): void => {
    const event = input.type === 'worker-event' ? input.event : input;
    if (event.type !== 'report') {
      deps.log('debug', `event ${event.type}`, {
        ...(input.type === 'worker-event' ? tagged(input.worker) : {}),
        ...plain(event),
      });
    }
    const next = step(model, input);
    model = next.model;
    exiting =
      input.type === 'worker-event' && input.event.type === 'exited'
        ? key(input.worker, input.event.gen)
        : '';
    for (const effect of next.effects) perform(effect);
    // A child whose exit was just handled is gone; its group was killed by the effects above.
    if (exiting) children.delete(exiting);
    exiting = '';
    deps.showState(serviceState(model));
  };

  const perform = (effect: Output): void => {
    switch (effect.type) {
      case 'spawn': {
        const { worker, gen } = effect;
        const pid = deps.launch(worker, gen, (event) =>
          dispatch({ type: 'worker-event', worker, event: stamped(event) }),
        );
        if (pid !== undefined) children.set(key(worker, gen), { pid, startedAt: clock.now() });
        return;
      }
      case 'kill': {
        const child = children.get(key(effect.worker, effect.gen));
        if (!child) return;
        const fields = tagged(effect.worker, { generation: effect.gen, pid: child.pid });
        const gone = !deps.kill(child.pid, effect.signal, effect.group);
        const target = effect.group ? 'the process group of generation' : 'generation';
        const after = gone ? ': already gone' : '';
        if (exiting === key(effect.worker, effect.gen))
          deps.log(
            'debug',
            `${effect.signal} to what generation ${effect.gen} left in its process group${after}`,
            fields,
          );
        else deps.log('verbose', `${effect.signal} to ${target} ${effect.gen}${after}`, fields);
        return;
      }
      case 'start-timer': {
        const name = `${effect.worker}:${effect.timer}:${effect.gen}`;
        if (timers.has(name)) clock.clearTimeout(timers.get(name));
        const handle = clock.setTimeout(() => {
          // A timer cancelled after it fired but before this ran must not count.
          if (timers.get(name) !== handle) return;
          timers.delete(name);
          dispatch({
            type: 'worker-event',
            worker: effect.worker,
            event: stamped(TIMER_EVENTS[effect.timer](effect.gen)),
          });
        }, effect.ms);
        timers.set(name, handle);
        return;
      }
      case 'cancel-timer': {
        const name = `${effect.worker}:${effect.timer}:${effect.gen}`;
        if (timers.has(name)) clock.clearTimeout(timers.get(name));
        timers.delete(name);
        return;
      }
      case 'log':
        if (effect.state !== undefined) deps.showState(effect.state);
        deps.log(
          effect.level,
          effect.message,
          'worker' in effect ? tagged(effect.worker, effect.fields) : effect.fields,
        );
        return;
      case 'warn-not-ready': {
        const child = children.get(key(effect.worker, effect.gen));
        if (!child) return;
        deps.log(
          'warn',
          `generation ${effect.gen} not ready after ${Math.round(effect.afterMs / 1000)} s: ${deps.describeNotReady(child.pid)}`,
          tagged(effect.worker, { generation: effect.gen, pid: child.pid }),
        );
        return;
      }
      case 'report': {
        const snapshot = status();
        deps.log('info', 'status', reportFields(snapshot, model.workers.length, workers));
        return;
      }
      case 'reopen-log':
        deps.reopenLog();
        return;
      case 'answer-reload':
        answer(effect.id, effect.outcome);
        return;
      case 'started':
        deps.started();
        return;
      case 'close-listeners':
        deps.closeListeners();
        return;
      case 'notify':
        deps.notify(effect.message, effect.status);
        return;
      case 'exit':
        for (const handle of timers.values()) clock.clearTimeout(handle);
        timers.clear();
        finish(effect.code);
        return;
    }
  };

  /** The core reads no clock: the events whose time matters get it here. */
  const stamped = (event: Event): Event =>
    event.type === 'spawned' ||
    event.type === 'ready' ||
    event.type === 'exited' ||
    event.type === 'ready-timeout'
      ? { ...event, at: clock.now() }
      : event;

  // A reload is done when the new generations serve and the old ones no longer take connections: the
  // stop signal is sent, but an old child accepts until its event loop has run the handler (milliseconds
  // under load), so `tsdaemon reload && curl` could otherwise still reach the old code. Capped at 1 s for
  // an app that keeps its listener open while it drains.
  const answer = (id: number, outcome: ReloadOutcome): void => {
    const resolve = reloads.get(id);
    if (!resolve) return;
    reloads.delete(id);
    if (!outcome.ok) {
      resolve(outcome);
      return;
    }
    const until = clock.now() + STOP_ACCEPTING_WAIT_MS;
    const stillAccepting = () =>
      model.workers.some((w) =>
        w.model.generations.some(
          (g) => g.status === 'stopping' && g.pid !== undefined && deps.isAccepting(g.pid),
        ),
      );
    const check = () => {
      if (clock.now() >= until || !stillAccepting()) resolve(outcome);
      else clock.setTimeout(check, STOP_ACCEPTING_POLL_MS);
    };
    check();
  };

  const status = (): SupervisorStatus =>
    statusOf(model, {
      now: clock.now(),
      startedAt,
      pid: deps.pid,
      rssBytes: deps.rssBytes(),
      listeners: deps.listeners,
      childStartedAt: (worker, gen) => children.get(key(worker, gen))?.startedAt,
      waitingOf: (pid) => deps.describeNotReady(pid),
    });

  const signal = (name: string): void => {
    deps.log('verbose', `received ${name}`);
    switch (name) {
      case 'SIGHUP':
        dispatch({ type: 'reload', why: 'SIGHUP', at: clock.now() });
        return;
      case 'SIGTERM':
      case 'SIGINT':
        dispatch({ type: 'stop', signal: name });
        return;
      case 'SIGQUIT':
        dispatch({ type: 'quit', signal: name });
        return;
      case 'SIGUSR1':
        dispatch({ type: 'report' });
        return;
      case 'SIGTTIN':
        dispatch({ type: 'add-worker' });
        return;
      case 'SIGTTOU':
        dispatch({ type: 'remove-worker' });
        return;
      case 'SIGUSR2':
        if (deps.upgrade) {
          deps.upgrade();
          return;
        }
    }
    dispatch({ type: 'forward', signal: name });
  };

  dispatch({ type: 'start', workers });
  return {
    done,
    status,
    signal,
    dispatch,
    model: () => model,
    reload() {
      const id = nextReload++;
      const answered = new Promise<ReloadOutcome>((resolve) => reloads.set(id, resolve));
      dispatch({ type: 'reload', why: 'tsdaemon reload', id, at: clock.now() });
      return answered;
    },
    stop: () => signal('SIGTERM'),
  };
}

/** The event's plain fields, for the debug line. */
function plain(event: object): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name !== 'type' && (typeof value === 'string' || typeof value === 'number')) out[name] = value;
  }
  return out;
}
