// The pool and its workers as one machine, the one the runtime drives: an input goes to the pool or to
// one worker; what a worker tells the pool (serving, reloaded, reload-failed, final-stop, exit) becomes
// a pool event at once, and the pool's to-worker effects become worker events at once, so the effects come
// out in the order they were caused. Only effects on the world leave. Pure, like the tables it runs.
import { initialPool, poolTransition } from './pool.js';
import type { Input, Output, PoolEvent, PoolModel } from './pool-types.js';
import { transition } from './transition.js';
import type { Effect, Event, Phase, Settings } from './types.js';

export type SupervisorModel = PoolModel;

export function initialSupervisor(settings: Settings): SupervisorModel {
  return initialPool(settings);
}

export function step(model: SupervisorModel, input: Input): { model: SupervisorModel; effects: Output[] } {
  let current = model;
  const before = serviceState(model);
  const out: Output[] = [];

  const toPool = (event: PoolEvent): void => {
    const state = serviceState(current);
    const next = poolTransition(current, event);
    current = next.model;
    for (const effect of next.effects) {
      if (effect.type === 'to-worker') toWorker(effect.worker, effect.event);
      else if (effect.type === 'log') out.push({ ...effect, state: effect.state ?? state });
      else out.push(effect);
    }
  };

  const toWorker = (index: number, event: Event): void => {
    const slot = current.workers.find((w) => w.index === index);
    if (!slot) return;
    const next = transition(slot.model, event);
    current = {
      ...current,
      workers: current.workers.map((w) => (w.index === index ? { ...w, model: next.model } : w)),
    };
    for (const effect of next.effects) {
      const told = toldPool(index, effect);
      if (told) toPool(told);
      else out.push({ ...(effect as Extract<Output, { worker: number }>), worker: index });
    }
  };

  if (input.type === 'worker-event') toWorker(input.worker, input.event);
  else toPool(input);
  const after = serviceState(current);
  if (after !== before) {
    const notify = NOTIFY[after];
    if (notify) out.push({ type: 'notify', ...notify });
  }
  return { model: current, effects: out };
}

/** What a worker's effect tells the pool, or undefined for an effect on the world. */
function toldPool(worker: number, effect: Effect): PoolEvent | undefined {
  switch (effect.type) {
    case 'serving':
      return { type: 'worker-ready', worker, gen: effect.gen };
    case 'reloaded':
      return effect.pid === undefined
        ? { type: 'worker-reloaded', worker, gen: effect.gen }
        : { type: 'worker-reloaded', worker, gen: effect.gen, pid: effect.pid };
    case 'reload-failed':
      return { type: 'worker-reload-failed', worker, reason: effect.reason };
    case 'final-stop':
      return { type: 'worker-final-stop', worker };
    case 'exit':
      return { type: 'worker-ended', worker, code: effect.code };
    default:
      return undefined;
  }
}

/** What systemd hears (sd_notify) when the service's state becomes this one. */
const NOTIFY: Partial<Record<Phase, { message: 'READY=1' | 'RELOADING=1' | 'STOPPING=1'; status: string }>> =
  {
    running: { message: 'READY=1', status: 'running' },
    restarting: { message: 'RELOADING=1', status: 'hot restart' },
    draining: { message: 'STOPPING=1', status: 'draining' },
  };

/** Which worker phase speaks for the service when the workers differ: the first of these that one has. */
const PRECEDENCE: Phase[] = ['draining', 'restarting', 'starting', 'recovering', 'backoff', 'running'];

/**
 * The service's state, as the log prefix, `tsdaemon status` and systemd see it. With one worker it is that
 * worker's phase; with more, the most telling one of the workers that go on (a restart over a crash
 * backoff over running); draining and stopped once the pool's final stop began or ended.
 */
export function serviceState(model: SupervisorModel): Phase {
  if (model.phase === 'stopped') return 'stopped';
  if (model.phase === 'stopping') return 'draining';
  const phases = model.workers.filter((w) => !w.retiring).map((w) => w.model.phase);
  if (phases.length === 0) return 'starting';
  return PRECEDENCE.find((p) => phases.includes(p)) ?? (phases.includes('stopped') ? 'draining' : 'running');
}
