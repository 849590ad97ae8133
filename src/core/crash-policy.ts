// What happens after a crash (--restart, --max-restarts): start the child again after a backoff, or give
// up so that systemd, Docker or Kubernetes take over. Pure, like the rest of the core. The policy's
// arithmetic and afterCrash come first; then the worker's cells that only a crash reaches: the exit case
// (crashed, which exits.ts puts in its phases), the end of the backoff, and the readiness of a generation
// started after a crash (transition.ts puts these in its table). The start and the hand-over themselves
// are restart.ts's spawnGeneration and becomeServing.
import { EXIT_SPAWN } from '../exit-codes.js';
import { becomeServing, spawnGeneration } from './restart.js';
import {
  describeExit,
  type ExitCase,
  endWorker,
  exitFields,
  find,
  ignore,
  killGeneration,
  log,
  pidField,
  transitionLine,
} from './steps.js';
import type { EventOf as E, Effect, Model, Settings, Step, StopReason } from './types.js';

/** --max-restarts=N/WINDOW by default: more than 5 crash restarts within 30 s is a crash loop. */
export const DEFAULT_MAX_RESTARTS = 5;
export const DEFAULT_RESTART_WINDOW_MS = 30_000;
/** The wait before a crash restart: 100 ms, doubling with each crash in a row, up to 30 s. */
export const DEFAULT_BACKOFF_INITIAL_MS = 100;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** A child that was ready this long before it crashed resets the backoff to its first step. */
export const DEFAULT_STABLE_AFTER_MS = 10_000;

export type CrashPolicy = Pick<
  Settings,
  'restart' | 'maxRestarts' | 'restartWindowMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'stableAfterMs'
>;

export const DEFAULT_CRASH_POLICY: Readonly<CrashPolicy> = Object.freeze({
  restart: 'on-failure',
  maxRestarts: DEFAULT_MAX_RESTARTS,
  restartWindowMs: DEFAULT_RESTART_WINDOW_MS,
  backoffInitialMs: DEFAULT_BACKOFF_INITIAL_MS,
  backoffMaxMs: DEFAULT_BACKOFF_MAX_MS,
  stableAfterMs: DEFAULT_STABLE_AFTER_MS,
});

/** Does --restart want a child that exited with status started again? */
export function wantsRestart(settings: CrashPolicy, status: number): boolean {
  return settings.restart === 'always' || (settings.restart === 'on-failure' && status !== 0);
}

export interface CrashCount {
  /** Crashes in a row (since the last child that stayed up stableAfterMs): drives the backoff. */
  crashes: number;
  /** When the crashes within the window happened, this one included. */
  crashTimes: number[];
  /** More crash restarts within the window than --max-restarts allows. */
  loop: boolean;
  /** The wait before the next start, when it is no loop. */
  backoffMs: number;
}

/**
 * Count a crash at `at`. readyAt: when the crashed child became ready (undefined if it never was); a child
 * that was ready stableAfterMs before it crashed starts a new series, so its backoff is the first step.
 */
export function countCrash(
  settings: CrashPolicy,
  previous: { crashes: number; crashTimes: number[] },
  at: number,
  readyAt: number | undefined,
): CrashCount {
  const stable = readyAt !== undefined && at - readyAt >= settings.stableAfterMs;
  const inRow = stable ? 0 : previous.crashes;
  const crashTimes = [...previous.crashTimes.filter((t) => at - t < settings.restartWindowMs), at];
  return {
    crashes: inRow + 1,
    crashTimes,
    loop: crashTimes.length > settings.maxRestarts,
    backoffMs: Math.min(settings.backoffInitialMs * 2 ** inRow, settings.backoffMaxMs),
  };
}

/** Why --restart does not want a child that exited with status started again, or undefined if it does. */
export function whyNoRestart(settings: CrashPolicy, status: number): string | undefined {
  if (settings.restart === 'never') return '--restart=never';
  if (settings.restart === 'on-failure' && status === 0)
    return '--restart=on-failure restarts only after a failure (exit 0 is none)';
  return undefined;
}

/** --max-restarts as the operator writes it: "5/30s". */
export function describeMaxRestarts(settings: CrashPolicy): string {
  const ms = settings.restartWindowMs;
  const window = ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  return `${settings.maxRestarts}/${window}`;
}

export interface Crash {
  /** What happened, for the log: "generation 3 exited (code 1)". */
  what: string;
  /** The child's status (68 for a generation that was not ready in time): the exit code if this ends it. */
  status: number;
  at: number;
  /** When the crashed generation became ready; undefined if it never was. */
  readyAt: number | undefined;
  fields: Record<string, number>;
}

/**
 * After a crash (model: without the crashed generation, or with it killed): --restart decides whether the
 * child starts again, --max-restarts whether this is a crash loop. Either the worker waits out the
 * backoff, or it ends with the child's status and the line says why.
 */
export function afterCrash(model: Model, crash: Crash, effects: Effect[]): Step {
  const s = model.settings;
  const stop: StopReason = { kind: 'child-exit', status: crash.status };
  const whyNot = whyNoRestart(s, crash.status);
  if (whyNot !== undefined) {
    const level = crash.status === 0 ? 'info' : 'error';
    const ended = endWorker(model, `not restarted: ${whyNot}`, stop, level);
    return {
      model: ended.model,
      effects: [...effects, log(level, crash.what, crash.fields), ...ended.effects],
    };
  }
  const line = log('warn', crash.what, crash.fields);
  const count = countCrash(s, model, crash.at, crash.readyAt);
  if (count.loop) {
    const why = `crash loop: ${count.crashTimes.length} crashes within ${s.restartWindowMs} ms; giving up (--max-restarts=${describeMaxRestarts(s)})`;
    const ended = endWorker({ ...model, crashTimes: count.crashTimes }, why, stop, 'error');
    return { model: ended.model, effects: [...effects, line, ...ended.effects] };
  }
  const why = `restart in ${count.backoffMs} ms; crash restart ${count.crashTimes.length} of the ${s.maxRestarts} that --max-restarts=${describeMaxRestarts(s)} allows`;
  return {
    model: { ...model, phase: 'backoff', crashes: count.crashes, crashTimes: count.crashTimes },
    effects: [
      ...effects,
      line,
      transitionLine('warn', model.phase, 'backoff', why),
      { type: 'start-timer', timer: 'backoff', gen: 0, ms: count.backoffMs },
    ],
  };
}

// ---- the cells of a crash ------------------------------------------------------------------------------

/**
 * A crash: the serving child exited on its own, or a generation that was never ready died (the first one
 * or one started after a crash). afterCrash decides: start again after a backoff, or end.
 */
export const crashed: ExitCase = (rest, g, event, effects) => {
  const before = g.status === 'starting' ? ' before it was ready' : '';
  const what = `generation ${g.id} exited${before} (${describeExit(event)})`;
  const crash = {
    what,
    status: event.status,
    at: event.at ?? 0,
    readyAt: g.readyAt,
    fields: exitFields(g, event),
  };
  return afterCrash(rest, crash, effects);
};

/** The crash backoff is over: the next generation starts. */
export function startAfterBackoff(model: Model): Step {
  return spawnGeneration(model, 'recovering', 'restart after a crash');
}

export function readyAfterCrash(model: Model, event: E<'ready'>): Step {
  return becomeServing(model, event);
}

/**
 * A generation started after a crash was not ready in time: that counts as one more crash (its status is
 * 68, as for a start that was never ready). It is killed, and afterCrash decides what follows.
 */
export function notReadyAfterCrash(model: Model, event: E<'ready-timeout'>): Step {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const what = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  const killed = killGeneration({ ...model, lastFailure: what }, g);
  const crash = {
    what,
    status: EXIT_SPAWN,
    at: event.at ?? 0,
    readyAt: undefined,
    fields: { generation: g.id, ...pidField(g) },
  };
  return afterCrash(killed.model, crash, killed.effects);
}
