// A worker's cells for a child that exits: told to stop, crashed (crash-policy.ts decides what follows),
// the successor of a hot restart, the serving one during a restart or a lame-duck delay. transition.ts
// puts them in its table.
import { EXIT_DRAIN_TIMEOUT } from '../exit-codes.js';
import { afterCrash } from './crash-policy.js';
import {
  cancelReadyTimers,
  describeExit,
  find,
  finish,
  ignore,
  isCleanStop,
  log,
  pidField,
  restartFailed,
  stopAll,
  then,
  without,
} from './steps.js';
import type { EventOf as E, Effect, Generation, Model, Step } from './types.js';

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

export function exitedWhileStarting(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: crashed });
}

export function exitedWhileRecovering(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: crashed });
}

export function exitedWhileRunning(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { serving: crashed });
}

export function exitedWhileRestarting(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { starting: successorExited, serving: servingExitedDuringRestart });
}

export function exitedDuringBackoff(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, {});
}

export function exitedWhileDraining(model: Model, event: E<'exited'>): Step {
  return onExit(model, event, { serving: servingExitedDuringDelay });
}
