// A worker's cells for a child that exits, one per phase: which case decides for the generation's status.
// The cases live with their path: crashed here (crash-policy.ts decides what follows), the successor and
// the serving one during a hot restart in restart.ts, the serving one during a lame-duck delay in stop.ts;
// what every exit shares (the group kill, a generation told to stop) is onExit in steps.ts.
import { afterCrash } from './crash-policy.js';
import { servingExitedDuringRestart, successorExited } from './restart.js';
import { describeExit, type ExitCase, exitFields, onExit } from './steps.js';
import { servingExitedDuringDelay } from './stop.js';
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
