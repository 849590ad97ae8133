// The steps the pool's cells (pool.ts, rolling-reload.ts) are made of: find and change workers, tell
// them an event, answer reloads, stop them all, exit once none is left.
import type { PoolEffect, PoolModel, PoolStep, ReloadOutcome, WorkerSlot } from './pool-types.js';
import { initialModel } from './transition.js';
import type { Event } from './types.js';

export function ignore(model: PoolModel): PoolStep {
  return { model, effects: [] };
}

export function log(level: Extract<PoolEffect, { type: 'log' }>['level'], message: string): PoolEffect {
  return { type: 'log', level, message };
}

export function tell(worker: number, event: Event): PoolEffect {
  return { type: 'to-worker', worker, event };
}

export function find(model: PoolModel, index: number): WorkerSlot | undefined {
  return model.workers.find((w) => w.index === index);
}

export function withWorker(model: PoolModel, index: number, patch: Partial<WorkerSlot>): PoolModel {
  return { ...model, workers: model.workers.map((w) => (w.index === index ? { ...w, ...patch } : w)) };
}

/** The workers that go on (not retiring), by index. */
export function active(model: PoolModel): WorkerSlot[] {
  return model.workers.filter((w) => !w.retiring).sort((a, b) => a.index - b.index);
}

export function newWorker(model: PoolModel, index: number): WorkerSlot {
  return { index, model: initialModel(model.settings), retiring: false, served: false, finalStop: false };
}

export function answer(ids: number[], outcome: ReloadOutcome): PoolEffect[] {
  return ids.map((id) => ({ type: 'answer-reload', id, outcome }));
}

/** The reloads still waiting for a round, answered now (the round is over or cannot run). */
export function answerWaiting(model: PoolModel, outcome: ReloadOutcome): PoolStep {
  const round = model.round;
  if (!round) return { model, effects: [] };
  return {
    model: { ...model, round: undefined },
    effects: answer([...round.answering, ...round.next], outcome),
  };
}

/** The final stop: every worker that goes on drains (a retiring one drains already). */
export function stopWorkers(model: PoolModel, why: string): PoolStep {
  const answered = answerWaiting(model, { ok: false, error: 'tsdaemon is stopping' });
  return {
    model: { ...answered.model, phase: 'stopping', queuedReload: undefined },
    effects: [...answered.effects, ...active(model).map((w) => tell(w.index, { type: 'stop', why }))],
  };
}

export function exitIfNone(step: PoolStep): PoolStep {
  if (step.model.workers.length > 0) return step;
  const code = step.model.code ?? 0;
  return {
    model: { ...step.model, phase: 'stopped' },
    effects: [...step.effects, { type: 'exit', code }],
  };
}

export function remove(model: PoolModel, index: number): PoolModel {
  const gone = find(model, index);
  return {
    ...model,
    workers: model.workers.filter((w) => w.index !== index),
    lastFailure: gone?.model.lastFailure ?? model.lastFailure,
  };
}
