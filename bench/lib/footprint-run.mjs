// One footprint measurement of a system (bench/footprint.mjs, bench/goals.mjs): spawn it, time the first
// answered request (unless it serves nothing), stay idle, read the RSS of the supervisor and of the app,
// stop it.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstAnswer, freePort, now, rssMiB } from './proc.mjs';
import { runThenStop } from './system-run.mjs';

/** The first answer is polled this often… */
export const POLL_MS = 2;
/** …for at most this long. */
const START_TIMEOUT_MS = 20_000;

/**
 * Where tsdaemon's start goes, from the times its log lines arrived: its own Node start and module load
 * until the first line (sockets bound), until it spawns the child, until the child said it is ready.
 */
function tsdaemonPhases(lines, startedAt) {
  const at = (pattern) => {
    const line = lines.find((l) => pattern.test(l.text));
    return line ? Math.round(line.at - startedAt) : undefined;
  };
  return { firstLogMs: at(/./), spawnMs: at(/starting \(start\)/), readyMs: at(/generation 1 ready/) };
}

/** { system, loadavg, firstAnswerMs?, phases?, rssMiB, appRssMiB?, error?, left? } of one run. */
export async function measureFootprint(system, { idleMs, serves = system.name !== 'idle-node' }) {
  const port = await freePort();
  const result = { system: system.name, loadavg: os.loadavg()[0] };
  return runThenStop(system, result, async () => {
    const startedAt = now();
    const started = system.start(port); // spawns before it returns
    started.catch(() => {}); // awaited below; a failure must not go unhandled while we poll
    if (serves) {
      const answered = firstAnswer(port, { intervalMs: POLL_MS, timeoutMs: START_TIMEOUT_MS });
      result.firstAnswerMs = (await answered) - startedAt;
    }
    const { pid } = await started;
    if (system.timedLog) result.phases = tsdaemonPhases(system.timedLog(), startedAt);
    await sleep(idleMs);
    result.rssMiB = rssMiB(pid);
    // The app's own RSS too: the same hello.js, bare or with what each supervisor loads into it.
    const apps = system.name === 'bare' ? [pid] : system.workerPids();
    if (apps.length) result.appRssMiB = apps.map(rssMiB).reduce((sum, v) => sum + (v ?? 0), 0);
  });
}
