// Scenario A: the built bin/tsdaemon in front of apps/hello.js. A restart is SIGHUP; it is done when
// tsdaemon logs that the old generation exited (it has then reaped it: the pid is gone).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isAlive, now, waitForExit, waitGone } from './proc.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STEP_TIMEOUT_MS = 30_000;

/** `build` is a folder with bin/, dist/ and package.json: the checkout, or a snapshot of its build. */
export function createTsdaemonSystem({ build = ROOT } = {}) {
  const lines = [];
  const waiters = new Set();
  const pidOf = new Map(); // generation → pid, from the log
  let child;
  let generation = 0;

  const onLine = (text) => {
    const line = { text, at: now() };
    lines.push(line);
    const [, gen, pid] = /generation=(\d+) pid=(\d+)/.exec(text) ?? [];
    if (pid) pidOf.set(Number(gen), Number(pid));
    for (const waiter of waiters) waiter(line);
  };

  /** The first log line from index `from` on that matches; rejects on a failed restart or a timeout. */
  const waitForLine = (pattern, from) =>
    new Promise((resolve, reject) => {
      const check = (line) => {
        if (pattern.test(line.text)) finish(resolve, line);
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
    name: 'tsdaemon',
    async start(port) {
      const args = [join(build, 'bin', 'tsdaemon'), `--listen=127.0.0.1:${port}`, '--'];
      args.push(process.execPath, `${ROOT}bench/apps/hello.js`);
      child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      createInterface({ input: child.stderr }).on('line', onLine);
      child.on('exit', (code, signal) => onLine(`[bench] tsdaemon exited (${code ?? signal})`));
      await waitForLine(/generation 1 ready/, 0);
      generation = 1;
      return { pid: child.pid };
    },
    async restart() {
      const from = lines.length;
      const old = generation;
      const sentAt = now();
      child.kill('SIGHUP');
      const ready = await waitForLine(new RegExp(`generation ${old + 1} ready`), from);
      const exited = await waitForLine(new RegExp(`generation ${old} exited`), from);
      generation = old + 1;
      // tsdaemon logs the exit once it has reaped the child, so the pid should be gone by now: check it.
      let doneAt = exited.at;
      if (isAlive(pidOf.get(old))) {
        if ((await waitGone([pidOf.get(old)], 1000)).length)
          throw new Error(`generation ${old} outlived its exit`);
        doneAt = now();
      }
      return { sentAt, readyAt: ready.at, doneAt };
    },
    async stop() {
      if (!child || child.exitCode !== null) return { left: await waitGone([...pidOf.values()], 0) };
      child.kill('SIGTERM');
      await waitForExit(child, STEP_TIMEOUT_MS);
      return {
        exitCode: child.exitCode ?? child.signalCode,
        left: await waitGone([...pidOf.values()], 2000),
      };
    },
    log: () => lines.map((line) => line.text),
  };
}
