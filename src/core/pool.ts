// The pool's decisions as a table, like transition.ts for one worker: table[phase][event] → the cell.
// The pool owns its workers (--workers N, SIGTTIN, SIGTTOU): it turns signals and control commands into
// events for them (to-worker effects), reloads them one after the other (rolling-reload.ts), and decides
// tsdaemon's exit. With one worker it is the same path. docs/states.md says every cell in words.
// Pure: no node:* imports, no clock, no awaits.
import {
  active,
  answerWaiting,
  exitIfNone,
  find,
  ignore,
  log,
  newWorker,
  remove,
  stopWorkers,
  tell,
  withWorker,
} from './pool-steps.js';
import type { PoolEffect, PoolEvent, PoolEventType, PoolModel, PoolPhase, PoolStep } from './pool-types.js';
import {
  beginRound,
  nextInRound,
  oneMoreRound,
  queueReloadDuringStart,
  refuseReload,
  roundFailed,
  startRound,
} from './rolling-reload.js';
import type { Settings } from './types.js';

type Handler<E extends PoolEventType> = (
  model: PoolModel,
  event: Extract<PoolEvent, { type: E }>,
) => PoolStep;
type Table = { [P in PoolPhase]: { [E in PoolEventType]: Handler<E> } };
type E<T extends PoolEventType> = Extract<PoolEvent, { type: T }>;

export function initialPool(settings: Settings): PoolModel {
  return { phase: 'starting', settings, workers: [], listenersClosed: false };
}

export function poolTransition(model: PoolModel, event: PoolEvent): PoolStep {
  const handler = poolTable[model.phase][event.type] as Handler<typeof event.type>;
  return handler(model, event as never);
}

// ---- the table -----------------------------------------------------------------------------------------

export const poolTable: Table = {
  starting: {
    start: startWorkers,
    reload: queueReloadDuringStart,
    stop: stopEveryWorker,
    quit: killEveryWorker,
    report,
    'add-worker': addWorker,
    'remove-worker': retireWorker,
    forward: forwardToWorkers,
    'worker-ready': readyDuringStart,
    'worker-reloaded': ignore,
    'worker-reload-failed': ignore,
    'worker-final-stop': noteFinalStop,
    'worker-ended': workerEndedDuringStart,
  },
  running: {
    start: ignore,
    reload: beginRound,
    stop: stopEveryWorker,
    quit: killEveryWorker,
    report,
    'add-worker': addWorker,
    'remove-worker': retireWorker,
    forward: forwardToWorkers,
    'worker-ready': noteServed,
    'worker-reloaded': ignore,
    'worker-reload-failed': ignore,
    'worker-final-stop': noteFinalStop,
    'worker-ended': workerEnded,
  },
  reloading: {
    start: ignore,
    reload: oneMoreRound,
    stop: stopEveryWorker,
    quit: killEveryWorker,
    report,
    'add-worker': addWorker,
    'remove-worker': retireWorker,
    forward: forwardToWorkers,
    'worker-ready': noteServed,
    'worker-reloaded': nextInRound,
    'worker-reload-failed': roundFailed,
    'worker-final-stop': noteFinalStop,
    'worker-ended': workerEnded,
  },
  stopping: {
    start: ignore,
    reload: refuseReload,
    stop: killEveryWorker,
    quit: killEveryWorker,
    report,
    'add-worker': ignore,
    'remove-worker': ignore,
    forward: forwardToWorkers,
    'worker-ready': ignore,
    'worker-reloaded': ignore,
    'worker-reload-failed': ignore,
    'worker-final-stop': noteFinalStop,
    'worker-ended': workerGoneWhileStopping,
  },
  stopped: {
    start: ignore,
    reload: refuseReload,
    stop: ignore,
    quit: ignore,
    report: ignore,
    'add-worker': ignore,
    'remove-worker': ignore,
    forward: ignore,
    'worker-ready': ignore,
    'worker-reloaded': ignore,
    'worker-reload-failed': ignore,
    'worker-final-stop': ignore,
    'worker-ended': ignore,
  },
};

/** The first start is complete once every worker that goes on has served. */
function completeStart(model: PoolModel): PoolStep {
  if (model.workers.length === 0 || !active(model).every((w) => w.served)) return { model, effects: [] };
  const running: PoolModel = { ...model, phase: 'running', queuedReload: undefined };
  const effects: PoolEffect[] = [{ type: 'started' }];
  if (model.queuedReload === undefined) return { model: running, effects };
  const round = startRound(running, model.queuedReload, []);
  return { model: round.model, effects: [...effects, ...round.effects] };
}

// ---- the cells -----------------------------------------------------------------------------------------

function startWorkers(model: PoolModel, event: E<'start'>): PoolStep {
  if (model.workers.length > 0) return ignore(model);
  const workers = Array.from({ length: event.workers }, (_, index) => newWorker(model, index));
  return {
    model: { ...model, workers },
    effects: workers.map((w) => tell(w.index, { type: 'start' })),
  };
}

function readyDuringStart(model: PoolModel, event: E<'worker-ready'>): PoolStep {
  return completeStart(withWorker(model, event.worker, { served: true }));
}

function noteServed(model: PoolModel, event: E<'worker-ready'>): PoolStep {
  return { model: withWorker(model, event.worker, { served: true }), effects: [] };
}

function stopEveryWorker(model: PoolModel, event: E<'stop'>): PoolStep {
  return stopWorkers(model, event.signal);
}

/** SIGQUIT, or a second SIGTERM/SIGINT: every worker, retiring ones too, kills its children now. */
function killEveryWorker(model: PoolModel, event: E<'stop'> | E<'quit'>): PoolStep {
  const answered = answerWaiting(model, { ok: false, error: 'tsdaemon is stopping' });
  return {
    model: { ...answered.model, phase: 'stopping', queuedReload: undefined },
    effects: [
      ...answered.effects,
      ...model.workers.map((w) => tell(w.index, { type: 'quit', signal: event.signal })),
    ],
  };
}

function report(model: PoolModel): PoolStep {
  return { model, effects: [{ type: 'report' }] };
}

function addWorker(model: PoolModel): PoolStep {
  const index = Math.max(-1, ...model.workers.map((w) => w.index)) + 1;
  const worker = newWorker(model, index);
  return {
    model: { ...model, workers: [...model.workers, worker] },
    effects: [
      log('info', `SIGTTIN: one worker more (${active(model).length + 1})`),
      tell(index, { type: 'start' }),
    ],
  };
}

/** SIGTTOU: the highest worker that goes on drains and is gone; the last one always stays. */
function retireWorker(model: PoolModel): PoolStep {
  const going = active(model);
  const last = going.at(-1);
  if (!last || going.length <= 1)
    return { model, effects: [log('info', 'SIGTTOU ignored: the last worker stays')] };
  return {
    model: withWorker(model, last.index, { retiring: true }),
    effects: [
      log('info', `SIGTTOU: one worker fewer (${going.length - 1}), draining worker ${last.index}`),
      tell(last.index, { type: 'stop', why: 'SIGTTOU' }),
    ],
  };
}

function forwardToWorkers(model: PoolModel, event: E<'forward'>): PoolStep {
  if (model.workers.length === 0)
    return { model, effects: [log('debug', `${event.signal}: no worker to forward to`)] };
  return {
    model,
    effects: model.workers.map((w) => tell(w.index, { type: 'forward', signal: event.signal })),
  };
}

function noteFinalStop(model: PoolModel, event: E<'worker-final-stop'>): PoolStep {
  const next = withWorker(model, event.worker, { finalStop: true });
  if (next.listenersClosed || !next.workers.every((w) => w.finalStop)) return { model: next, effects: [] };
  return { model: { ...next, listenersClosed: true }, effects: [{ type: 'close-listeners' }] };
}

/**
 * A worker ended on its own (a crash loop gave up, or its child exited and --restart said no): the
 * service cannot go on as configured, so the others drain and tsdaemon exits with that worker's status.
 */
function endedOnItsOwn(rest: PoolModel, worker: number, code: number): PoolStep {
  const stopped = stopWorkers({ ...rest, code }, `worker ${worker} ended`);
  const effects = stopped.effects;
  if (rest.workers.length > 0) {
    effects.unshift(log('error', `worker ${worker} ended (status ${code}): stopping the others`));
  }
  return exitIfNone({ model: stopped.model, effects });
}

/** A worker is over during the first start: a retiring one is gone (the others may be all ready now). */
function workerEndedDuringStart(model: PoolModel, event: E<'worker-ended'>): PoolStep {
  const worker = find(model, event.worker);
  if (!worker) return ignore(model);
  const rest = remove(model, event.worker);
  return worker.retiring ? completeStart(rest) : endedOnItsOwn(rest, event.worker, event.code);
}

/** A worker is over while the service runs: a retiring one is simply gone. */
function workerEnded(model: PoolModel, event: E<'worker-ended'>): PoolStep {
  const worker = find(model, event.worker);
  if (!worker) return ignore(model);
  const rest = remove(model, event.worker);
  return worker.retiring ? { model: rest, effects: [] } : endedOnItsOwn(rest, event.worker, event.code);
}

function workerGoneWhileStopping(model: PoolModel, event: E<'worker-ended'>): PoolStep {
  const worker = find(model, event.worker);
  if (!worker) return ignore(model);
  const rest = remove(model, event.worker);
  const failed = !worker.retiring && event.code !== 0 && rest.code === undefined;
  return exitIfNone({ model: failed ? { ...rest, code: event.code } : rest, effects: [] });
}
