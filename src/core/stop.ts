import {
  drain,
  find,
  finish,
  ignore,
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
