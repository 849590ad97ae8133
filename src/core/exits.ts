// A worker's cells for a child that exits: told to stop, crashed (crash-policy.ts decides what follows),
// the successor of a hot restart, the serving one during a restart or a lame-duck delay. transition.ts
// puts them in its table; what every exit shares (the group kill, a generation told to stop) is onExit in
// steps.ts.
import { afterCrash } from './crash-policy.js';
import { restartFailed } from './restart.js';
import {
  describeExit,
  type ExitCase,
  exitFields,
  finish,
  isCleanStop,
  log,
  onExit,
  stopAll,
  then,
} from './steps.js';
import type { EventOf as E, Model, Step } from './types.js';

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
