// What happens after a crash (--restart, --max-restarts): start the child again after a backoff, or give
// up so that systemd, Docker or Kubernetes take over. Pure, like the rest of the core.
import type { Settings } from './types.js';

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
