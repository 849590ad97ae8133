// One worker's decisions as a table: table[phase][event] → the cell's handler. Every pair has an entry,
// even when it is `ignore`, so a missing pair is a type error; no handler asks which phase it is in.
// docs/states.md says every cell in words, and test/states.test.mjs holds each cell to it.
// Pure: no node:* imports, no clock, no awaits. See types.ts for the vocabulary, steps.ts for the steps.
import { EXIT_DRAIN_TIMEOUT, EXIT_SPAWN } from '../exit-codes.js';
import { afterCrash } from './crash-policy.js';
import {
  answerReloaded,
  cancelReadyTimers,
  describeExit,
  drain,
  endWorker,
  find,
  finish,
  ignore,
  isCleanStop,
  killAll,
  killGeneration,
  log,
  pending,
  pidField,
  READY_WARN_EVERY_MS,
  READY_WARN_FIRST_MS,
  restartFailed,
  serving,
  spawnGeneration,
  stopAll,
  stopGeneration,
  then,
  transitionLine,
  withGeneration,
  without,
} from './steps.js';
import type { Effect, Event, EventType, Generation, Model, Phase, Settings, Step } from './types.js';

type Handler<E extends EventType> = (model: Model, event: Extract<Event, { type: E }>) => Step;
type Table = { [P in Phase]: { [E in EventType]: Handler<E> } };

export function initialModel(settings: Settings): Model {
  return {
    phase: 'starting',
    settings,
    generations: [],
    nextGen: 1,
    restarts: 0,
    failures: 0,
    crashes: 0,
    crashTimes: [],
    finalStop: false,
  };
}

/** The next model and its effects; each log line carries the state it is printed with. */
export function transition(model: Model, event: Event): Step {
  const handler = table[model.phase][event.type] as Handler<typeof event.type>;
  const step = handler(model, event as never);
  return { model: step.model, effects: withStates(model.phase, step.effects) };
}

/**
 * The state each line is printed with: a line that says a transition shows the state it leads to; any
 * other line the state in which its event happened ("[running] generation 1 exited (code 7)", then
 * "[backoff] running -> backoff (restart in 100 ms; …)").
 */
function withStates(from: string, effects: Effect[]): Effect[] {
  let state = from;
  return effects.map((effect) => {
    if (effect.type !== 'log') return effect;
    state = effect.to ?? state;
    return { ...effect, state };
  });
}

// ---- the table -----------------------------------------------------------------------------------------

export const table: Table = {
  starting: {
    start: startFirst,
    spawned: recordPid,
    'spawn-failed': cannotStart,
    ready: readyAtStart,
    exited: exitedWhileStarting,
    reload: queueReloadDuringStart,
    stop: beginDrain,
    quit: fastStop,
    forward: forwardToStarting,
    'ready-timeout': notReadyAtStart,
    'ready-slow': warnNotReady,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  running: {
    start: ignore,
    spawned: recordPid,
    'spawn-failed': forgetAbandoned,
    ready: ignore,
    exited: exitedWhileRunning,
    reload: hotRestart,
    stop: beginDrain,
    quit: fastStop,
    forward: forwardToServing,
    'ready-timeout': ignore,
    'ready-slow': ignore,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': restartForMemory,
  },
  restarting: {
    start: ignore,
    spawned: recordPid,
    'spawn-failed': successorCannotStart,
    ready: successorReady,
    exited: exitedWhileRestarting,
    reload: queueReloadDuringRestart,
    stop: beginDrain,
    quit: fastStop,
    forward: forwardToServing,
    'ready-timeout': successorNotReady,
    'ready-slow': warnNotReady,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  backoff: {
    start: ignore,
    spawned: recordPid,
    'spawn-failed': forgetAbandoned,
    ready: ignore,
    exited: exitedDuringBackoff,
    reload: restartNow,
    stop: drainDuringBackoff,
    quit: fastStop,
    forward: forwardToNobody,
    'ready-timeout': ignore,
    'ready-slow': ignore,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': ignore,
    'backoff-over': startAfterBackoff,
    'over-memory': ignore,
  },
  recovering: {
    start: ignore,
    spawned: recordPid,
    'spawn-failed': cannotStart,
    ready: readyAfterCrash,
    exited: exitedWhileRecovering,
    reload: queueReloadDuringRecovery,
    stop: beginDrain,
    quit: fastStop,
    forward: forwardToStarting,
    'ready-timeout': notReadyAfterCrash,
    'ready-slow': warnNotReady,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  draining: {
    start: ignore,
    spawned: recordPid,
    'spawn-failed': forgetAbandoned,
    ready: ignore,
    exited: exitedWhileDraining,
    reload: refuseReload,
    stop: ignore,
    quit: fastStop,
    forward: forwardToAll,
    'ready-timeout': ignore,
    'ready-slow': ignore,
    'drain-deadline': killAtDeadline,
    'lame-duck-delay-over': stopAfterDelay,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  stopped: {
    start: ignore,
    spawned: ignore,
    'spawn-failed': ignore,
    ready: ignore,
    exited: ignore,
    reload: ignore,
    stop: ignore,
    quit: ignore,
    forward: ignore,
    'ready-timeout': ignore,
    'ready-slow': ignore,
    'drain-deadline': ignore,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
};

type E<T extends EventType> = Extract<Event, { type: T }>;

// ---- start and readiness -------------------------------------------------------------------------------

function startFirst(model: Model): Step {
  return model.nextGen === 1 ? spawnGeneration(model, 'starting', 'start') : ignore(model);
}

function recordPid(model: Model, event: E<'spawned'>): Step {
  if (!find(model, event.gen)) return ignore(model);
  const patch = event.at === undefined ? { pid: event.pid } : { pid: event.pid, startedAt: event.at };
  return {
    model: withGeneration(model, event.gen, patch),
    effects: [log('debug', 'spawned', { generation: event.gen, pid: event.pid })],
  };
}

function readyAtStart(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

function readyAfterCrash(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

/** A hot restart's new generation is ready: only now does the old one stop, so someone always accepts. */
function successorReady(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

function becomeServing(model: Model, event: E<'ready'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const old = serving(model);
  const ready: Model = {
    ...withGeneration(
      model,
      g.id,
      event.at === undefined ? { status: 'serving' } : { status: 'serving', readyAt: event.at },
    ),
    phase: 'running',
    crashStatus: undefined,
  };
  let step: Step = {
    model: ready,
    effects: [
      ...cancelReadyTimers(g.id),
      transitionLine('info', model.phase, 'running', `generation ${g.id} ready: ${event.how}`, {
        generation: g.id,
        ...pidField(g),
      }),
      g.pid === undefined ? { type: 'serving', gen: g.id } : { type: 'serving', gen: g.id, pid: g.pid },
    ],
  };
  if (old) {
    step = then(step, (m) => {
      const stopped = stopGeneration({ ...m, restarts: m.restarts + 1 }, old);
      return {
        model: stopped.model,
        effects: [
          log('info', `draining generation ${old.id}`, { generation: old.id, ...pidField(old) }),
          ...stopped.effects,
        ],
      };
    });
  }
  step = then(step, (m) => answerReloaded(m, g));
  const queued = step.model.queuedRestart;
  if (queued !== undefined) {
    step = then(step, (m) => spawnGeneration({ ...m, queuedRestart: undefined }, 'restarting', queued));
  }
  return step;
}

function warnNotReady(model: Model, event: E<'ready-slow'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const afterMs = READY_WARN_FIRST_MS + READY_WARN_EVERY_MS * g.readyWarnings;
  return {
    model: withGeneration(model, g.id, { readyWarnings: g.readyWarnings + 1 }),
    effects: [
      { type: 'warn-not-ready', gen: g.id, afterMs },
      { type: 'start-timer', timer: 'ready-warn', gen: g.id, ms: READY_WARN_EVERY_MS },
    ],
  };
}

/** Nothing serves and the generation that should was not ready in time: the start failed (exit 68). */
function notReadyAtStart(model: Model, event: E<'ready-timeout'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const reason = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  return endWorker(
    { ...model, lastFailure: reason },
    reason,
    { kind: 'failed-start', status: EXIT_SPAWN },
    'error',
  );
}

/**
 * A generation started after a crash was not ready in time: that counts as one more crash (its status is
 * 68, as for a start that was never ready). It is killed, and crash-policy.ts decides what follows.
 */
function notReadyAfterCrash(model: Model, event: E<'ready-timeout'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const what = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  const killed = killGeneration({ ...model, lastFailure: what }, g);
  const crash = {
    what,
    status: EXIT_SPAWN,
    at: event.at ?? 0,
    readyAt: undefined,
    fields: { generation: g.id, ...pidField(g) },
  };
  return afterCrash(killed.model, crash, killed.effects);
}

/** The generation that should serve could not be started at all: the worker ends with that status. */
function cannotStart(model: Model, event: E<'spawn-failed'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return forgetAbandoned(model, event);
  const rest = { ...without(model, g.id), lastFailure: event.reason };
  const ended = endWorker(
    rest,
    `cannot start generation ${g.id}: ${event.reason}`,
    { kind: 'failed-start', status: event.status },
    'error',
  );
  return { model: ended.model, effects: [...cancelReadyTimers(g.id), ...ended.effects] };
}

/** A late spawn failure of a generation already given up on: it is simply gone. */
function forgetAbandoned(model: Model, event: E<'spawn-failed'>): Step {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  return finish({ model: without(model, g.id), effects: cancelReadyTimers(g.id) });
}

// ---- hot restart ---------------------------------------------------------------------------------------

function hotRestart(model: Model, event: E<'reload'>): Step {
  return spawnGeneration({ ...model, reload: { fromGen: model.nextGen } }, 'restarting', event.why);
}

function restartForMemory(model: Model, event: E<'over-memory'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'serving') return ignore(model);
  const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
  const why = `memory: generation ${g.id} uses ${mib(event.rssBytes)}, over ${mib(event.limitBytes)}`;
  const line = log('warn', `generation ${g.id} is over the memory limit`, {
    rssBytes: event.rssBytes,
    ...pidField(g),
  });
  const step = spawnGeneration(model, 'restarting', why);
  return { model: step.model, effects: [line, ...step.effects] };
}

/** A reload while a generation starts: one more restart follows once it is ready (it may run old code). */
function queueReload(model: Model, event: E<'reload'>, during: string): Step {
  const starting = pending(model);
  const what = starting ? `once generation ${starting.id} is ready` : 'once a generation is ready';
  return {
    model: {
      ...model,
      queuedRestart: `${event.why} during the ${during}`,
      reload: { fromGen: model.nextGen },
    },
    effects: [log('info', `${event.why} during the ${during}: one more restart follows ${what}`)],
  };
}

function queueReloadDuringStart(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'start');
}

function queueReloadDuringRestart(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'restart');
}

function queueReloadDuringRecovery(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'crash restart');
}

/** Waiting out a crash backoff: a reload (new code deployed?) starts the next generation now. */
function restartNow(model: Model, event: E<'reload'>): Step {
  const step = spawnGeneration(
    { ...model, reload: { fromGen: model.nextGen } },
    'recovering',
    `${event.why} during the crash backoff`,
  );
  return {
    model: step.model,
    effects: [{ type: 'cancel-timer', timer: 'backoff', gen: 0 }, ...step.effects],
  };
}

/** Draining: no restart any more; the reload is answered at once. */
function refuseReload(model: Model, event: E<'reload'>): Step {
  return {
    model: { ...model, reload: undefined },
    effects: [
      log('warn', `${event.why} ignored: draining`),
      { type: 'reload-failed', reason: 'tsdaemon is stopping' },
    ],
  };
}

function successorNotReady(model: Model, event: E<'ready-timeout'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const reason = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  const killed = killGeneration(model, g);
  return restartFailed(killed.model, reason, EXIT_SPAWN, killed.effects);
}

function successorCannotStart(model: Model, event: E<'spawn-failed'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return forgetAbandoned(model, event);
  return restartFailed(without(model, g.id), event.reason, event.status, cancelReadyTimers(g.id));
}

// ---- children that exit --------------------------------------------------------------------------------

type ExitCase = (rest: Model, g: Generation, event: E<'exited'>, effects: Effect[]) => Step;

/**
 * A child's main process exited. Whatever it left in its process group (grandchildren) goes with it:
 * the group is SIGKILLed first. Then the case for the generation's status decides.
 */
function onExit(
  model: Model,
  event: E<'exited'>,
  cases: Partial<Record<Generation['status'], ExitCase>>,
): Step {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  const effects: Effect[] = [
    { type: 'kill', gen: g.id, signal: 'SIGKILL', group: true },
    ...cancelReadyTimers(g.id),
    { type: 'cancel-timer', timer: 'deadline', gen: g.id },
  ];
  const handle = cases[g.status] ?? stoppedGone;
  return handle(without(model, g.id), g, event, effects);
}

function exitFields(g: Generation, event: E<'exited'>): Record<string, number> {
  return { generation: g.id, ...pidField(g), status: event.status };
}

/** A generation that was told to stop is gone; in a drain, its status says whether the drain was clean. */
const stoppedGone: ExitCase = (rest, g, event, effects) => {
  let stop = rest.stop;
  if (stop?.kind === 'drain') {
    if (g.killed) stop = { kind: 'drain', dirtyStatus: EXIT_DRAIN_TIMEOUT };
    else if (!isCleanStop(rest.settings, event.status) && stop.dirtyStatus === undefined) {
      stop = { kind: 'drain', dirtyStatus: event.status };
    }
  }
  const line = log('info', `generation ${g.id} exited (${describeExit(event)})`, exitFields(g, event));
  return finish({ model: stop ? { ...rest, stop } : rest, effects: [...effects, line] });
};

/**
 * A crash: the serving child exited on its own, or a generation that was never ready died (the first one
 * or one started after a crash). crash-policy.ts decides: start again after a backoff, or end.
 */
const crashed: ExitCase = (rest, g, event, effects) => {
  const before = g.status === 'starting' ? ' before it was ready' : '';
  const what = `generation ${g.id} exited${before} (${describeExit(event)})`;
  const crash = {
    what,
    status: event.status,
    at: event.at ?? 0,
    readyAt: g.readyAt,
    fields: exitFields(g, event),
  };
  return afterCrash(rest, crash, effects);
};

/** The successor of a hot restart died before it was ready: the restart failed. */
const successorExited: ExitCase = (rest, g, event, effects) =>
  restartFailed(
    rest,
    `generation ${g.id} exited before it was ready (${describeExit(event)})`,
    event.status,
    effects,
  );

/** The serving child exited while its successor starts: the successor may still take over. */
const servingExitedDuringRestart: ExitCase = (rest, g, event, effects) => ({
  model: { ...rest, crashStatus: event.status },
  effects: [
    ...effects,
    log(
      'warn',
      `generation ${g.id} exited (${describeExit(event)}) while its successor starts`,
      exitFields(g, event),
    ),
  ],
});

/** The serving child exited on its own during the lame-duck delay: the drain goes on without it. */
const servingExitedDuringDelay: ExitCase = (rest, g, event, effects) => {
  const clean = isCleanStop(rest.settings, event.status);
  let stop = rest.stop;
  if (stop?.kind === 'drain' && stop.dirtyStatus === undefined && !clean) {
    stop = { kind: 'drain', dirtyStatus: event.status };
  }
  const line = log(
    clean ? 'info' : 'error',
    `generation ${g.id} exited (${describeExit(event)})`,
    exitFields(g, event),
  );
  return finish(then({ model: { ...rest, stop }, effects: [...effects, line] }, stopAll));
};

function exitedWhileStarting(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: crashed });
}

function exitedWhileRecovering(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: crashed });
}

function exitedWhileRunning(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { serving: crashed });
}

function exitedWhileRestarting(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: successorExited, serving: servingExitedDuringRestart });
}

function exitedDuringBackoff(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, {});
}

function exitedWhileDraining(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { serving: servingExitedDuringDelay });
}

function startAfterBackoff(model: Model): Step {
  return spawnGeneration(model, 'recovering', 'restart after a crash');
}

// ---- stopping ------------------------------------------------------------------------------------------

function beginDrain(model: Model, event: E<'stop'>): Step {
  return drain(model, event.why);
}

function drainDuringBackoff(model: Model, event: E<'stop'>): Step {
  const step = drain(model, event.why);
  return {
    model: step.model,
    effects: [{ type: 'cancel-timer', timer: 'backoff', gen: 0 }, ...step.effects],
  };
}

function fastStop(model: Model, event: E<'quit'>): Step {
  return killAll(model, event.signal);
}

function stopAfterDelay(model: Model): Step {
  return finish(then({ model, effects: [log('info', 'lame-duck delay over: stopping children')] }, stopAll));
}

function killAtDeadline(model: Model, event: E<'drain-deadline'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'stopping' || g.killed) return ignore(model);
  const killed = killGeneration(model, g);
  const line = log(
    'warn',
    `generation ${g.id} still running after ${model.settings.lameDuckMs} ms: SIGKILL`,
    pidField(g),
  );
  return { model: killed.model, effects: [line, ...killed.effects] };
}

// ---- forwarded signals ---------------------------------------------------------------------------------

function forwardTo(model: Model, targets: (Generation | undefined)[], signal: string): Step {
  const effects: Effect[] = [];
  for (const g of targets) if (g) effects.push({ type: 'kill', gen: g.id, signal, group: false });
  return { model, effects };
}

function forwardToStarting(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, [pending(model)], event.signal);
}

function forwardToServing(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, [serving(model)], event.signal);
}

function forwardToAll(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, model.generations, event.signal);
}

function forwardToNobody(model: Model, event: E<'forward'>): Step {
  return {
    model,
    effects: [log('verbose', `${event.signal} not forwarded: no child runs during the crash backoff`)],
  };
}
