// A worker's cells about the hot restart (SIGHUP, `tsdaemon reload`, --max-memory): the successor starts
// next to the serving generation, and only once it is ready does the old one stop. If the successor fails
// (not ready in time, cannot start, exits), the old one goes on serving. transition.ts puts them in its
// table, exits.ts the exit cases. The hand-over itself is here too, since every start goes through it:
// spawnGeneration (the first, a successor, one after a crash) and becomeServing (a generation is ready;
// the old one stops).
import { EXIT_SPAWN } from '../exit-codes.js';
import {
  answerReloadFailed,
  cancelReadyTimers,
  describeExit,
  type ExitCase,
  endWorker,
  exitFields,
  find,
  forgetAbandoned,
  ignore,
  killGeneration,
  log,
  pending,
  pidField,
  serving,
  stopGeneration,
  then,
  transitionLine,
  withGeneration,
  without,
} from './steps.js';
import type { EventOf as E, Effect, Generation, Level, Model, Phase, Step, StopReason } from './types.js';

/** A generation not ready this long gets a warning that names what it waits in… */
export const READY_WARN_FIRST_MS = 5_000;
/** …and another one this often after that, until it is ready or the ready timeout ends it. */
export const READY_WARN_EVERY_MS = 10_000;

export function hotRestart(model: Model, event: E<'reload'>): Step {
  return spawnGeneration({ ...model, reload: { fromGen: model.nextGen } }, 'restarting', event.why);
}

export function restartForMemory(model: Model, event: E<'over-memory'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'serving') return ignore(model);
  const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
  const why = `memory: generation ${g.id} uses ${mib(event.rssBytes)}, over ${mib(event.limitBytes)}`;
  const line = log('warn', `generation ${g.id} is over the memory limit`, {
    rssBytes: event.rssBytes,
    ...pidField(g),
  });
  const step = spawnGeneration(model, 'restarting', why);
  return { model: step.model, effects: [line, ...step.effects] };
}

/** A reload while a generation starts: one more restart follows once it is ready (it may run old code). */
function queueReload(model: Model, event: E<'reload'>, during: string): Step {
  const starting = pending(model);
  const what = starting ? `once generation ${starting.id} is ready` : 'once a generation is ready';
  return {
    model: {
      ...model,
      queuedRestart: `${event.why} during the ${during}`,
      reload: { fromGen: model.nextGen },
    },
    effects: [log('info', `${event.why} during the ${during}: one more restart follows ${what}`)],
  };
}

export function queueReloadDuringStart(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'start');
}

export function queueReloadDuringRestart(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'restart');
}

export function queueReloadDuringRecovery(model: Model, event: E<'reload'>): Step {
  return queueReload(model, event, 'crash restart');
}

/** Waiting out a crash backoff: a reload (new code deployed?) starts the next generation now. */
export function restartNow(model: Model, event: E<'reload'>): Step {
  const step = spawnGeneration(
    { ...model, reload: { fromGen: model.nextGen } },
    'recovering',
    `${event.why} during the crash backoff`,
  );
  return {
    model: step.model,
    effects: [{ type: 'cancel-timer', timer: 'backoff', gen: 0 }, ...step.effects],
  };
}

/** Draining: no restart any more; the reload is answered at once. */
export function refuseReload(model: Model, event: E<'reload'>): Step {
  return {
    model: { ...model, reload: undefined },
    effects: [
      log('warn', `${event.why} ignored: draining`),
      { type: 'reload-failed', reason: 'tsdaemon is stopping' },
    ],
  };
}

export function successorNotReady(model: Model, event: E<'ready-timeout'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const reason = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  const killed = killGeneration(model, g);
  return restartFailed(killed.model, reason, EXIT_SPAWN, killed.effects);
}

export function successorCannotStart(model: Model, event: E<'spawn-failed'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return forgetAbandoned(model, event);
  return restartFailed(without(model, g.id), event.reason, event.status, cancelReadyTimers(g.id));
}

/** The successor of a hot restart died before it was ready: the restart failed. */
export const successorExited: ExitCase = (rest, g, event, effects) =>
  restartFailed(
    rest,
    `generation ${g.id} exited before it was ready (${describeExit(event)})`,
    event.status,
    effects,
  );

/** The serving child exited while its successor starts: the successor may still take over. */
export const servingExitedDuringRestart: ExitCase = (rest, g, event, effects) => ({
  model: { ...rest, crashStatus: event.status },
  effects: [
    ...effects,
    log(
      'warn',
      `generation ${g.id} exited (${describeExit(event)}) while its successor starts`,
      exitFields(g, event),
    ),
  ],
});

/**
 * A restart failed. With a generation still serving, it goes on serving; with none left (it crashed
 * meanwhile), the worker ends as that child did, once every child is gone.
 */
export function restartFailed(model: Model, reason: string, status: number, effects: Effect[]): Step {
  const base: Model = {
    ...model,
    queuedRestart: undefined,
    lastFailure: reason,
    failures: model.failures + 1,
  };
  const answered = answerReloadFailed(base, reason);
  if (serving(model)) {
    const why = `restart failed: ${reason}; the old generation keeps serving`;
    return {
      model: { ...answered.model, phase: 'running' },
      effects: [...effects, transitionLine('error', model.phase, 'running', why), ...answered.effects],
    };
  }
  const stop: StopReason = model.stop ?? { kind: 'child-exit', status: model.crashStatus ?? status };
  const ended = endWorker(
    answered.model,
    `restart failed: ${reason}; no generation is left to serve`,
    stop,
    'error',
  );
  return { model: ended.model, effects: [...effects, ...answered.effects, ...ended.effects] };
}

/** A hot restart's new generation is ready: only now does the old one stop, so someone always accepts. */
export function successorReady(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

// ---- the hand-over from one generation to the next (a start and a crash restart too) -------------------

/** Spawn the next generation, with its ready timeout and its first not-ready warning. */
export function spawnGeneration(model: Model, phase: Phase, why: string, level: Level = 'info'): Step {
  const id = model.nextGen;
  const next: Model = {
    ...model,
    phase,
    nextGen: id + 1,
    generations: [...model.generations, { id, status: 'starting', killed: false, readyWarnings: 0 }],
  };
  const line =
    model.phase === phase
      ? { ...log(level, `${phase} (${why})`, { generation: id }), to: phase }
      : transitionLine(level, model.phase, phase, why, { generation: id });
  const effects: Effect[] = [
    line,
    { type: 'spawn', gen: id },
    { type: 'start-timer', timer: 'ready', gen: id, ms: model.settings.readyTimeoutMs },
  ];
  if (READY_WARN_FIRST_MS < model.settings.readyTimeoutMs) {
    effects.push({ type: 'start-timer', timer: 'ready-warn', gen: id, ms: READY_WARN_FIRST_MS });
  }
  return { model: next, effects };
}

/** A generation that was starting serves now; the one it replaces, if any, stops. */
export function becomeServing(model: Model, event: E<'ready'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const old = serving(model);
  const ready: Model = {
    ...withGeneration(
      model,
      g.id,
      event.at === undefined ? { status: 'serving' } : { status: 'serving', readyAt: event.at },
    ),
    phase: 'running',
    crashStatus: undefined,
  };
  let step: Step = {
    model: ready,
    effects: [
      ...cancelReadyTimers(g.id),
      transitionLine('info', model.phase, 'running', `generation ${g.id} ready: ${event.how}`, {
        generation: g.id,
        ...pidField(g),
      }),
      g.pid === undefined ? { type: 'serving', gen: g.id } : { type: 'serving', gen: g.id, pid: g.pid },
    ],
  };
  if (old) {
    step = then(step, (m) => {
      const stopped = stopGeneration({ ...m, restarts: m.restarts + 1 }, old);
      return {
        model: stopped.model,
        effects: [
          log('info', `draining generation ${old.id}`, { generation: old.id, ...pidField(old) }),
          ...stopped.effects,
        ],
      };
    });
  }
  step = then(step, (m) => answerReloaded(m, g));
  const queued = step.model.queuedRestart;
  if (queued !== undefined) {
    step = then(step, (m) => spawnGeneration({ ...m, queuedRestart: undefined }, 'restarting', queued));
  }
  return step;
}

/** The reload the pool asked for is done once a generation it asked for serves. */
export function answerReloaded(model: Model, g: Generation): Step {
  if (!model.reload || g.id < model.reload.fromGen) return { model, effects: [] };
  const reloaded: Effect =
    g.pid === undefined ? { type: 'reloaded', gen: g.id } : { type: 'reloaded', gen: g.id, pid: g.pid };
  return { model: { ...model, reload: undefined }, effects: [reloaded] };
}
