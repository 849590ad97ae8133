// When this process's drain started and when it must be over, and the drain hook that tells the app.
//
// Under tsdaemon the child gets the stop signal and has TSDAEMON_LAME_DUCK_MS until its process group is
// SIGKILLed (the deadline). The drain closes what is still open a margin before that, so that the
// connections end with a FIN and the process exits on its own instead of being killed with them:
//
//   margin = 10 % of the lame duck, at most 1 s      (15 s → 1 s, 3 s → 300 ms, 1 s → 100 ms)
//   closeAt = drain start + lame duck − margin
//
// The drain starts once per process: at the stop signal (the preload), or at the first drain(server) or
// patched server.close() (an app with its own stop handler). Every server's drain uses the same clock.
//
// The state lives on globalThis under a registered symbol, not in this module: an app's own copy of
// tsdaemon/app (node_modules) and the preload's copy (tsdaemon's dist/) are different module instances,
// and an onDrain() registered through one must fire for a drain started by the other.
import { ENV_LAME_DUCK_MS } from '../child-protocol.js';

const MARGIN_FRACTION = 0.1;
const MAX_MARGIN_MS = 1000;

export interface DrainInfo {
  /** When the drain started (epoch ms): the stop signal, or the first drain() of the process. */
  startedAt: number;
  /** When tsdaemon SIGKILLs this process (epoch ms); undefined when not run by tsdaemon. */
  deadline: number | undefined;
  /** When the drain ends every connection still open (epoch ms): the deadline less the margin. */
  closeAt: number | undefined;
}

/** A drain hook; a promise it returns keeps the preload from exiting the process until it settles. */
export type DrainListener = (info: DrainInfo) => unknown;

interface Clock {
  info?: DrainInfo;
  listeners: Set<DrainListener>;
  /** What the hooks returned that may be promises. */
  results: unknown[];
}

const CLOCK = Symbol.for('tsdaemon.drain-clock');

function clock(): Clock {
  const holder = globalThis as { [CLOCK]?: Clock };
  holder[CLOCK] ??= { listeners: new Set(), results: [] };
  return holder[CLOCK];
}

/** The margin before the lame-duck deadline at which the drain closes what is left (see above). */
export function drainMarginMs(lameDuckMs: number): number {
  return Math.min(MAX_MARGIN_MS, Math.round(lameDuckMs * MARGIN_FRACTION));
}

/** TSDAEMON_LAME_DUCK_MS, or undefined when it is missing or not a number ≥ 0. */
export function lameDuckMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[ENV_LAME_DUCK_MS];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The drain in progress, or undefined before it started. */
export function currentDrain(): DrainInfo | undefined {
  return clock().info;
}

/**
 * Start the process's drain now (idempotent: later calls return the first one's info). The drain hooks
 * run in a microtask, so that every server the caller drains in the same tick has stopped accepting first.
 */
export function beginDrain(now = Date.now(), env: NodeJS.ProcessEnv = process.env): DrainInfo {
  const state = clock();
  if (state.info) return state.info;
  const lameDuck = lameDuckMs(env);
  const deadline = lameDuck === undefined ? undefined : now + lameDuck;
  const closeAt = lameDuck === undefined ? undefined : now + lameDuck - drainMarginMs(lameDuck);
  const info: DrainInfo = { startedAt: now, deadline, closeAt };
  state.info = info;
  for (const listener of state.listeners) {
    queueMicrotask(() => {
      // Unless it was unsubscribed in between.
      if (state.listeners.delete(listener)) state.results.push(listener(info));
    });
  }
  return info;
}

/**
 * Call listener once when the drain starts (at once, in a microtask, if it already has), with the
 * deadline. The app closes its long-lived connections there (WebSocket close 1001 or 1012, say); what it
 * leaves open is ended at info.closeAt. Returns the unsubscribe function.
 */
export function onDrain(listener: DrainListener): () => void {
  const state = clock();
  if (state.info) {
    const info = state.info;
    queueMicrotask(() => state.results.push(listener(info)));
    return () => {};
  }
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

/** Settles once every promise the drain hooks returned so far has settled; with the errors of those that failed. */
export async function drainHooksSettled(): Promise<unknown[]> {
  const results = await Promise.allSettled(clock().results);
  return results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
}
