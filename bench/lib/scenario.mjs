// One measured run of one system: start it on a free port, wait until it answers, put the load on it, warm
// up, restart it `restarts` times `intervalMs` apart (never sooner than 500 ms after the last restart ended),
// keep the load on for one more interval, then stop the load and the system.
import os from 'node:os';
import { startLoad } from './load.mjs';
import { freePort, now, sleepUntil, waitForHttp } from './proc.mjs';

const START_TIMEOUT_MS = 20_000;

export async function runScenario(
  system,
  { round, restarts, warmupMs, intervalMs, connections, thinkMs = 0, detail = false },
) {
  const port = await freePort();
  const startedAt = now();
  const result = { system: system.name, round, port, loadavg: os.loadavg()[0], restarts: [] };
  let load;
  try {
    result.info = await system.start(port);
    result.startMs = (await waitForHttp(port, START_TIMEOUT_MS)) - startedAt;
    const t0 = now();
    const plannedMs = warmupMs + restarts * intervalMs;
    load = startLoad({ port, connections, t0, maxMs: plannedMs + 60_000, thinkMs, detail });
    let lastDone = 0;
    for (let k = 0; k < restarts; k++) {
      await sleepUntil(Math.max(t0 + warmupMs + k * intervalMs, lastDone + 500));
      const { sentAt, readyAt, doneAt } = await system.restart();
      result.restarts.push({
        sentMs: sentAt - t0,
        readyMs: readyAt === undefined ? undefined : readyAt - t0,
        doneMs: doneAt - t0,
      });
      lastDone = doneAt;
    }
    await sleepUntil(Math.max(t0 + plannedMs, lastDone + intervalMs / 2));
    // Requests still in flight now end later (at most their timeout); they count, the time does not.
    result.loadMs = now() - t0;
    result.buckets = await load.stop();
    load = undefined;
  } catch (error) {
    result.error = error.message;
  } finally {
    if (load) result.buckets = await load.stop();
    result.stop = await system.stop();
    result.log = system.log?.();
  }
  return result;
}
