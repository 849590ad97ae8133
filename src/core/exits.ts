// A worker's cells for a child that exits, one per phase: which case decides for the generation's status.
// The cases live with their path: crashed (the serving child, or one never ready) in crash-policy.ts,
// the successor and the serving one during a hot restart in restart.ts, the serving one during a
// lame-duck delay in stop.ts. What every exit shares (the group kill, a generation told to stop) is
// onExit in steps.ts.
import { crashed } from './crash-policy.js';
import { servingExitedDuringRestart, successorExited } from './restart.js';
import { onExit } from './steps.js';
import { servingExitedDuringDelay } from './stop.js';
import type { EventOf as E, Model, Step } from './types.js';

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
