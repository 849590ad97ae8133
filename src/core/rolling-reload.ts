// A reload across the workers, one after the other (a round): each worker's successor is ready before
// the next worker starts its own, so capacity never drops. Reloads during a round make exactly one more;
// a reload during the first start waits for it. The pool's table (pool.ts) puts these cells in.
import { active, answer, answerWaiting, find, ignore, log, tell } from './pool-steps.js';
import type { PoolEffect, PoolEvent, PoolModel, PoolStep, ReloadOutcome, Round } from './pool-types.js';

type E<T extends PoolEvent['type']> = Extract<PoolEvent, { type: T }>;

/** Reload the first worker of queue that still goes on; the round is over when none is left. */
export function reloadNext(model: PoolModel, round: Round): PoolStep {
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

export function startRound(model: PoolModel, why: string, answering: number[]): PoolStep {
  const round: Round = { queue: active(model).map((w) => w.index), why, answering, next: [] };
  return reloadNext(model, round);
}

/** Nothing serves everywhere yet: the reload runs once the start is complete; the caller hears so now. */
export function queueReloadDuringStart(model: PoolModel, event: E<'reload'>): PoolStep {
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

export function beginRound(model: PoolModel, event: E<'reload'>): PoolStep {
  const round = startRound(model, event.why, event.id === undefined ? [] : [event.id]);
  return { model: round.model, effects: [{ type: 'reopen-log' }, ...round.effects] };
}

/** A reload during a rolling reload: exactly one more round follows, whatever the number of them. */
export function oneMoreRound(model: PoolModel, event: E<'reload'>): PoolStep {
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

export function refuseReload(model: PoolModel, event: E<'reload'>): PoolStep {
  const refused =
    event.id === undefined ? [] : answer([event.id], { ok: false, error: 'tsdaemon is stopping' });
  return {
    model,
    effects: [{ type: 'reopen-log' }, log('warn', `${event.why} ignored: draining`), ...refused],
  };
}

/** The worker reloading now is done: the next one, or the round is over. */
export function nextInRound(model: PoolModel, event: E<'worker-reloaded'>): PoolStep {
  const round = model.round;
  if (!round || round.queue[0] !== event.worker) return ignore(model);
  const last = event.pid === undefined ? { gen: event.gen } : { gen: event.gen, pid: event.pid };
  return reloadNext(model, { ...round, queue: round.queue.slice(1), last });
}

/**
 * The worker reloading now failed: the round stops there (the workers after it keep their generation)
 * and every reload waiting hears why. A worker that retires meanwhile is no failure: the round goes on.
 */
export function roundFailed(model: PoolModel, event: E<'worker-reload-failed'>): PoolStep {
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
