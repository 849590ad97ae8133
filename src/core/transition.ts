// One worker's decisions as a table: table[phase][event] → the cell's handler. Every pair has an entry,
// even when it is `ignore`, so a missing pair is a type error; no handler asks which phase it is in.
// docs/states.md says every cell in words, and test/core/states.test.mjs holds each cell to it.
// The cells live by path: start.ts (the first start, readiness), restart.ts (hot restart, and the
// hand-over from one generation to the next that every start uses), crash-policy.ts (after a crash: the
// backoff, the start after it), stop.ts (drain, fast stop, forwarded signals), exits.ts (a child exits:
// the case for each phase, from those files); the steps they share are in steps.ts, the vocabulary in
// types.ts. Pure: no node:* imports, no clock, no awaits.
import { notReadyAfterCrash, readyAfterCrash, startAfterBackoff } from './crash-policy.js';
import {
  exitedDuringBackoff,
  exitedWhileDraining,
  exitedWhileRecovering,
  exitedWhileRestarting,
  exitedWhileRunning,
  exitedWhileStarting,
} from './exits.js';
import {
  hotRestart,
  queueReloadDuringRecovery,
  queueReloadDuringRestart,
  queueReloadDuringStart,
  refuseReload,
  restartForMemory,
  restartNow,
  successorCannotStart,
  successorNotReady,
  successorReady,
} from './restart.js';
import { cannotStart, notReadyAtStart, readyAtStart, recordPid, startFirst, warnNotReady } from './start.js';
import { forgetAbandoned, ignore } from './steps.js';
import {
  beginDrain,
  drainDuringBackoff,
  fastStop,
  forwardToAll,
  forwardToNobody,
  forwardToServing,
  forwardToStarting,
  killAtDeadline,
  stopAfterDelay,
} from './stop.js';
import type { Effect, Event, EventType, Model, Phase, Settings, Step } from './types.js';

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
