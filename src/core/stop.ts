// A worker's cells about stopping: the lame-duck drain (and its delay, and a serving child that exits
// during that delay), the fast stop, the SIGKILL at the lame-duck deadline, and the signals forwarded to
// the children. transition.ts puts them in its table; the drain's steps are in steps.ts.
import {
  describeExit,
  drain,
  type ExitCase,
  exitFields,
  find,
  finish,
  ignore,
  isCleanStop,
  killAll,
  killGeneration,
  log,
  pending,
  pidField,
  serving,
  stopAll,
  then,
} from './steps.js';
import type { EventOf as E, Effect, Generation, Model, Step } from './types.js';

export function beginDrain(model: Model, event: E<'stop'>): Step {
  return drain(model, event.why);
}

export function drainDuringBackoff(model: Model, event: E<'stop'>): Step {
  const step = drain(model, event.why);
  return {
    model: step.model,
    effects: [{ type: 'cancel-timer', timer: 'backoff', gen: 0 }, ...step.effects],
  };
}

export function fastStop(model: Model, event: E<'quit'>): Step {
  return killAll(model, event.signal);
}

export function stopAfterDelay(model: Model): Step {
  return finish(then({ model, effects: [log('info', 'lame-duck delay over: stopping children')] }, stopAll));
}

export function killAtDeadline(model: Model, event: E<'drain-deadline'>): Step {
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

/** The serving child exited on its own during the lame-duck delay: the drain goes on without it. */
export const servingExitedDuringDelay: ExitCase = (rest, g, event, effects) => {
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

// ---- forwarded signals ---------------------------------------------------------------------------------

function forwardTo(model: Model, targets: (Generation | undefined)[], signal: string): Step {
  const effects: Effect[] = [];
  for (const g of targets) if (g) effects.push({ type: 'kill', gen: g.id, signal, group: false });
  return { model, effects };
}

export function forwardToStarting(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, [pending(model)], event.signal);
}

export function forwardToServing(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, [serving(model)], event.signal);
}

export function forwardToAll(model: Model, event: E<'forward'>): Step {
  return forwardTo(model, model.generations, event.signal);
}

export function forwardToNobody(model: Model, event: E<'forward'>): Step {
  return {
    model,
    effects: [log('verbose', `${event.signal} not forwarded: no child runs during the crash backoff`)],
  };
}
