// Scenario A: the built bin/tsdaemon in front of apps/hello.js. A restart is SIGHUP; it is done when
// tsdaemon logs that the old generation exited (it has then reaped it: the pid is gone). With --workers N
// tsdaemon replaces the workers one after another: the restart is done when the last old one exited.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isAlive, now, waitForExit, waitGone, withMaxFds } from './proc.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STEP_TIMEOUT_MS = 30_000;

/**
 * `build` is a folder with bin/, dist/ and package.json: the checkout, or a snapshot of its build.
 * `workers` is --workers; `extraListen` are more --listen addresses after the first (fds 4, 5, …); `app`
 * the Node script tsdaemon runs, or `command` the whole command (argv); `args` more tsdaemon options;
 * `maxFds` raises `ulimit -n` first (through sh); `env` more environment variables. `launcher` replaces
 * tsdaemon by another supervisor that takes the same options and logs the same lines (bench/handover.py).
 */
export function createTsdaemonSystem({
  build = ROOT,
  workers = 1,
  extraListen = [],
  app = `${ROOT}bench/apps/hello.js`,
  command = [process.execPath, app],
  // bin/tsdaemon run as a program, as an operator runs it: through its shell launcher (node's flags, the
  // app's NODE_OPTIONS and NODE_EXTRA_CA_CERTS set aside).
  launcher = [join(build, 'bin', 'tsdaemon')],
  args: moreArgs = [],
  env = {},
  maxFds,
  name = 'tsdaemon',
} = {}) {
  const lines = [];
  const waiters = new Set();
  const pidsOf = new Map(); // generation → pids (one per worker), from the log
  let child;
  let generation = 0;

  const onLine = (text) => {
    const line = { text, at: now() };
    lines.push(line);
    const [, gen, pid] = /generation=(\d+) pid=(\d+)/.exec(text) ?? [];
    if (pid) pidsOf.set(Number(gen), new Set(pidsOf.get(Number(gen))).add(Number(pid)));
    for (const waiter of waiters) waiter(line);
  };

  /**
   * The `count`-th log line from index `from` on that matches; rejects on a failed restart, tsdaemon's
   * exit or a timeout.
   */
  const waitForLine = (pattern, from, count = 1) =>
    new Promise((resolve, reject) => {
      let seen = 0;
      const check = (line) => {
        if (pattern.test(line.text) && ++seen === count) finish(resolve, line);
        else if (/restart failed|^\[bench\] tsdaemon exited/.test(line.text))
          finish(reject, new Error(`tsdaemon: ${line.text}`));
      };
      const finish = (settle, value) => {
        waiters.delete(check);
        clearTimeout(timer);
        settle(value);
      };
      const timer = setTimeout(
        () => finish(reject, new Error(`no log line ${pattern} within ${STEP_TIMEOUT_MS} ms`)),
        STEP_TIMEOUT_MS,
      );
      waiters.add(check);
      for (const line of lines.slice(from)) if (waiters.has(check)) check(line);
    });

  return {
    name,
    /** Spawns tsdaemon at once (synchronously), then waits until every worker of generation 1 is ready. */
    async start(port) {
      const args = [...launcher, `--listen=127.0.0.1:${port}`];
      for (const address of extraListen) args.push(`--listen=${address}`);
      if (workers !== 1) args.push(`--workers=${workers}`);
      args.push(...moreArgs, '--', ...command);
      const [file, ...argv] = withMaxFds(args, maxFds);
      child = spawn(file, argv, {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: String(port) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      createInterface({ input: child.stderr }).on('line', onLine);
      child.on('exit', (code, signal) => onLine(`[bench] tsdaemon exited (${code ?? signal})`));
      const firstReady = await waitForLine(/generation 1 ready/, 0);
      const allReady = await waitForLine(/generation 1 ready/, 0, workers);
      generation = 1;
      return { pid: child.pid, firstReadyAt: firstReady.at, allReadyAt: allReady.at };
    },
    async restart() {
      const from = lines.length;
      const old = generation;
      const sentAt = now();
      child.kill('SIGHUP');
      const ready = await waitForLine(new RegExp(`generation ${old + 1} ready`), from);
      const exited = await waitForLine(new RegExp(`generation ${old} exited`), from, workers);
      generation = old + 1;
      // tsdaemon logs the exit once it has reaped the child, so the pids should be gone by now: check it.
      let doneAt = exited.at;
      const oldPids = [...(pidsOf.get(old) ?? [])];
      if (oldPids.some(isAlive)) {
        if ((await waitGone(oldPids, 1000)).length) throw new Error(`generation ${old} outlived its exit`);
        doneAt = now();
      }
      return { sentAt, readyAt: ready.at, doneAt };
    },
    /** SIGTERM (lame duck), then SIGKILL after timeoutMs; `exitedAt` is when tsdaemon itself exited. */
    async stop(timeoutMs = STEP_TIMEOUT_MS) {
      const all = () => [...pidsOf.values()].flatMap((pids) => [...pids]);
      if (!child || child.exitCode !== null) return { left: await waitGone(all(), 0) };
      const exited = new Promise((resolve) => child.once('exit', () => resolve(now())));
      child.kill('SIGTERM');
      await waitForExit(child, timeoutMs);
      return {
        exitCode: child.exitCode ?? child.signalCode,
        exitedAt: await exited,
        left: await waitGone(all(), 2000),
      };
    },
    pid: () => child?.pid,
    /** The pids of the children of the current generation. */
    workerPids: () => [...(pidsOf.get(generation) ?? [])],
    log: () => lines.map((line) => line.text),
    /** The log lines with the time each was read ({text, at}). */
    timedLog: () => lines,
  };
}
