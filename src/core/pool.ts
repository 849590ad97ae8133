// The pool's decisions as a table, like transition.ts for one worker: table[phase][event] → the cell.
// The pool owns its workers (--workers N, SIGTTIN, SIGTTOU): it turns signals and control commands into
// events for them (to-worker effects), runs a reload as a rolling one (worker after worker, each one's
// successor ready before the next starts), and decides tsdaemon's exit. With one worker it is the same
// path. docs/states.md says every cell in words. Pure: no node:* imports, no clock, no awaits.
import type {
  PoolEffect,
  PoolEvent,
  PoolEventType,
  PoolModel,
  PoolPhase,
  PoolStep,
  ReloadOutcome,
  Round,
  WorkerSlot,
} from './pool-types.js';
import { initialModel } from './transition.js';
import type { Event, Settings } from './types.js';

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
    'worker-ended': workerEnded,
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

// ---- steps ---------------------------------------------------------------------------------------------

function ignore(model: PoolModel): PoolStep {
  return { model, effects: [] };
}

function log(level: Extract<PoolEffect, { type: 'log' }>['level'], message: string): PoolEffect {
  return { type: 'log', level, message };
}

function tell(worker: number, event: Event): PoolEffect {
  return { type: 'to-worker', worker, event };
}

function find(model: PoolModel, index: number): WorkerSlot | undefined {
  return model.workers.find((w) => w.index === index);
}

function withWorker(model: PoolModel, index: number, patch: Partial<WorkerSlot>): PoolModel {
  return { ...model, workers: model.workers.map((w) => (w.index === index ? { ...w, ...patch } : w)) };
}

/** The workers that go on (not retiring), by index. */
function active(model: PoolModel): WorkerSlot[] {
  return model.workers.filter((w) => !w.retiring).sort((a, b) => a.index - b.index);
}

function newWorker(model: PoolModel, index: number): WorkerSlot {
  return { index, model: initialModel(model.settings), retiring: false, served: false, finalStop: false };
}

function answer(ids: number[], outcome: ReloadOutcome): PoolEffect[] {
  return ids.map((id) => ({ type: 'answer-reload', id, outcome }));
}

/** The reloads still waiting for a round, answered now (the round is over or cannot run). */
function answerWaiting(model: PoolModel, outcome: ReloadOutcome): PoolStep {
  const round = model.round;
  if (!round) return { model, effects: [] };
  return {
    model: { ...model, round: undefined },
    effects: answer([...round.answering, ...round.next], outcome),
  };
}

/** Reload the first worker of queue that still goes on; the round is over when none is left. */
function reloadNext(model: PoolModel, round: Round): PoolStep {
  const queue = round.queue.filter((index) => find(model, index)?.retiring === false);
  const [first] = queue;
  if (first !== undefined) {
    return {
      model: { ...model, phase: 'reloading', round: { ...round, queue } },
      effects: [tell(first, { type: 'reload', why: round.why })],
    };
  }
  const done: ReloadOutcome = round.last
    ? {
        ok: true,
        generation: round.last.gen,
        ...(round.last.pid === undefined ? {} : { pid: round.last.pid }),
      }
    : { ok: false, error: 'no worker to reload' };
  const effects = answer(round.answering, done);
  if (round.again === undefined) return { model: { ...model, phase: 'running', round: undefined }, effects };
  const again = startRound(model, round.again, round.next);
  return { model: again.model, effects: [...effects, ...again.effects] };
}

function startRound(model: PoolModel, why: string, answering: number[]): PoolStep {
  const round: Round = { queue: active(model).map((w) => w.index), why, answering, next: [] };
  return reloadNext(model, round);
}

/** The first start is complete once every worker that goes on has served. */
function completeStart(model: PoolModel): PoolStep {
  if (model.workers.length === 0 || !active(model).every((w) => w.served)) return { model, effects: [] };
  const running: PoolModel = { ...model, phase: 'running', queuedReload: undefined };
  const effects: PoolEffect[] = [{ type: 'started' }];
  if (model.queuedReload === undefined) return { model: running, effects };
  const round = startRound(running, model.queuedReload, []);
  return { model: round.model, effects: [...effects, ...round.effects] };
}

/** The final stop: every worker that goes on drains (a retiring one drains already). */
function stopWorkers(model: PoolModel, why: string): PoolStep {
  const answered = answerWaiting(model, { ok: false, error: 'tsdaemon is stopping' });
  return {
    model: { ...answered.model, phase: 'stopping', queuedReload: undefined },
    effects: [...answered.effects, ...active(model).map((w) => tell(w.index, { type: 'stop', why }))],
  };
}

function exitIfNone(step: PoolStep): PoolStep {
  if (step.model.workers.length > 0) return step;
  const code = step.model.code ?? 0;
  return {
    model: { ...step.model, phase: 'stopped' },
    effects: [...step.effects, { type: 'exit', code }],
  };
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

/** Nothing serves everywhere yet: the reload runs once the start is complete; the caller hears so now. */
function queueReloadDuringStart(model: PoolModel, event: E<'reload'>): PoolStep {
  const effects: PoolEffect[] = [{ type: 'reopen-log' }];
  const waiting = active(model).find((w) => !w.served);
  const g = waiting?.model.generations.find((x) => x.status === 'starting');
  const of = model.workers.length > 1 && waiting ? ` of worker ${waiting.index}` : '';
  const since =
    g?.startedAt !== undefined && event.at !== undefined
      ? ` (${Math.round((event.at - g.startedAt) / 1000)} s so far)`
      : '';
  const what = g
    ? `generation ${g.id}${of} is still starting${since}`
    : 'the first start is still in progress';
  effects.push(log('info', `${event.why} during the start: one more restart follows once it is ready`));
  if (event.id !== undefined) {
    effects.push(
      ...answer([event.id], {
        ok: false,
        queued: true,
        error: `${what}; the reload is queued and runs once it is ready`,
      }),
    );
  }
  return { model: { ...model, queuedReload: `${event.why} during the start` }, effects };
}

function beginRound(model: PoolModel, event: E<'reload'>): PoolStep {
  const round = startRound(model, event.why, event.id === undefined ? [] : [event.id]);
  return { model: round.model, effects: [{ type: 'reopen-log' }, ...round.effects] };
}

/** A reload during a rolling reload: exactly one more round follows, whatever the number of them. */
function oneMoreRound(model: PoolModel, event: E<'reload'>): PoolStep {
  const round = model.round;
  if (!round) return ignore(model);
  const next = event.id === undefined ? round.next : [...round.next, event.id];
  return {
    model: { ...model, round: { ...round, again: `${event.why} during the restart`, next } },
    effects: [
      { type: 'reopen-log' },
      log('info', `${event.why} during the restart: one more restart follows`),
    ],
  };
}

function refuseReload(model: PoolModel, event: E<'reload'>): PoolStep {
  const refused =
    event.id === undefined ? [] : answer([event.id], { ok: false, error: 'tsdaemon is stopping' });
  return {
    model,
    effects: [{ type: 'reopen-log' }, log('warn', `${event.why} ignored: draining`), ...refused],
  };
}

/** The worker reloading now is done: the next one, or the round is over. */
function nextInRound(model: PoolModel, event: E<'worker-reloaded'>): PoolStep {
  const round = model.round;
  if (!round || round.queue[0] !== event.worker) return ignore(model);
  const last = event.pid === undefined ? { gen: event.gen } : { gen: event.gen, pid: event.pid };
  return reloadNext(model, { ...round, queue: round.queue.slice(1), last });
}

/**
 * The worker reloading now failed: the round stops there (the workers after it keep their generation)
 * and every reload waiting hears why. A worker that retires meanwhile is no failure: the round goes on.
 */
function roundFailed(model: PoolModel, event: E<'worker-reload-failed'>): PoolStep {
  const round = model.round;
  if (!round || round.queue[0] !== event.worker) return ignore(model);
  if (find(model, event.worker)?.retiring !== false)
    return reloadNext(model, { ...round, queue: round.queue.slice(1) });
  const rest = round.queue.slice(1);
  const answered = answerWaiting(model, { ok: false, error: event.reason });
  const effects = [...answered.effects];
  if (rest.length > 0) {
    effects.unshift(
      log(
        'error',
        `reload stopped at worker ${event.worker}: workers ${rest.join(', ')} keep their generation`,
      ),
    );
  }
  return { model: { ...answered.model, phase: 'running' }, effects };
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

function remove(model: PoolModel, index: number): PoolModel {
  const gone = find(model, index);
  return {
    ...model,
    workers: model.workers.filter((w) => w.index !== index),
    lastFailure: gone?.model.lastFailure ?? model.lastFailure,
  };
}

/**
 * A worker is over. A retiring one is simply gone. Any other ended on its own (a crash loop gave up, or
 * its child exited and --restart said no): the service cannot go on as configured, so the others drain
 * and tsdaemon exits with that worker's status.
 */
function workerEnded(model: PoolModel, event: E<'worker-ended'>): PoolStep {
  const worker = find(model, event.worker);
  if (!worker) return ignore(model);
  const rest = remove(model, event.worker);
  if (worker.retiring) {
    return rest.phase === 'starting' ? completeStart(rest) : { model: rest, effects: [] };
  }
  const stopped = stopWorkers({ ...rest, code: event.code }, `worker ${event.worker} ended`);
  const effects = stopped.effects;
  if (rest.workers.length > 0) {
    effects.unshift(log('error', `worker ${event.worker} ended (status ${event.code}): stopping the others`));
  }
  return exitIfNone({ model: stopped.model, effects });
}

function workerGoneWhileStopping(model: PoolModel, event: E<'worker-ended'>): PoolStep {
  const worker = find(model, event.worker);
  if (!worker) return ignore(model);
  const rest = remove(model, event.worker);
  const failed = !worker.retiring && event.code !== 0 && rest.code === undefined;
  return exitIfNone({ model: failed ? { ...rest, code: event.code } : rest, effects: [] });
}
