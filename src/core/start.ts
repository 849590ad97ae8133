// A worker's cells about the first start: the start, readiness (ready, not ready in time, slow), a child
// that cannot be started at all. transition.ts puts them in its table. The start itself (spawnGeneration)
// and the ready generation serving (becomeServing) are the hand-over in restart.ts.
import { EXIT_SPAWN } from '../exit-codes.js';
import { becomeServing, READY_WARN_EVERY_MS, READY_WARN_FIRST_MS, spawnGeneration } from './restart.js';
import {
  cancelReadyTimers,
  endWorker,
  find,
  forgetAbandoned,
  ignore,
  log,
  withGeneration,
  without,
} from './steps.js';
import type { EventOf as E, Model, Step } from './types.js';

export function startFirst(model: Model): Step {
  return model.nextGen === 1 ? spawnGeneration(model, 'starting', 'start') : ignore(model);
}

export function recordPid(model: Model, event: E<'spawned'>): Step {
  if (!find(model, event.gen)) return ignore(model);
  const patch = event.at === undefined ? { pid: event.pid } : { pid: event.pid, startedAt: event.at };
  return {
    model: withGeneration(model, event.gen, patch),
    effects: [log('debug', 'spawned', { generation: event.gen, pid: event.pid })],
  };
}

export function readyAtStart(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

export function warnNotReady(model: Model, event: E<'ready-slow'>): Step {
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
export function notReadyAtStart(model: Model, event: E<'ready-timeout'>): Step {
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

/** The generation that should serve could not be started at all: the worker ends with that status. */
export function cannotStart(model: Model, event: E<'spawn-failed'>): Step {
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
