// The stop of a server that holds many idle keep-alive connections (bench/scale.mjs, bench/drain.mjs):
// start the system, open the connections and let each get one answer, stay idle for idleMs, stop it, and
// see how each connection ended.
import { setTimeout as sleep } from 'node:timers/promises';
import { startIdleClients } from './idle-clients.mjs';
import { firstAnswer, freePort, now } from './proc.mjs';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * Adds to result: startMs, opened, openFailed, openMs, closedBeforeStop, idleBeforeStopMs, exitMs,
 * exitCode, clean, errors, stillOpen, closedBefore, left?, error?, log?. Resolves the close times
 * (ms after the stop, sorted), or [] after an error. settleMs: how long after the exit the last FINs and
 * resets may take to reach the clients.
 */
export async function measureIdleStop(system, result, { connections, idleMs = 0, maxFds, settleMs }) {
  const port = await freePort();
  let clients;
  let stopped = false;
  let closeMs = [];
  try {
    const startedAt = now();
    const started = system.start(port);
    started.catch(() => {});
    await firstAnswer(port, { timeoutMs: START_TIMEOUT_MS });
    await started;
    result.startMs = now() - startedAt;
    clients = startIdleClients(port, connections, maxFds);
    const open = await clients.opened;
    Object.assign(result, {
      opened: open.opened,
      openFailed: open.failed,
      openMs: open.openMs,
      closedBeforeStop: open.closedAlready,
    });
    await sleep(Math.max(0, open.lastAnsweredAt + idleMs - now()));
    const sentAt = now();
    // How long the connections were idle when the stop came (the app's own keep-alive timeout, 5 s, may
    // have closed the oldest ones before).
    result.idleBeforeStopMs = { newest: sentAt - open.lastAnsweredAt, oldest: sentAt - open.firstAnsweredAt };
    const stop = await system.stop(STOP_TIMEOUT_MS);
    stopped = true;
    result.exitMs = stop.exitedAt - sentAt;
    result.exitCode = stop.exitCode;
    if (stop.left.length) result.left = stop.left;
    await sleep(settleMs);
    const report = await clients.report(sentAt);
    Object.assign(result, {
      clean: report.clean,
      errors: report.errors,
      stillOpen: report.stillOpen,
      closedBefore: report.closedBefore,
    });
    closeMs = report.closeMs;
  } catch (error) {
    result.error = error.message;
    if (system.log) result.log = system.log().slice(-10);
  } finally {
    clients?.kill();
    if (!stopped) {
      const stop = await system.stop(STOP_TIMEOUT_MS);
      if (stop.left.length) result.left = stop.left;
    }
  }
  return closeMs;
}
