// A system that is one command: the bare app (`node bench/apps/hello.js`), an idle `node`, `pm2-runtime app`.
// It gets PORT in its environment; stop() sends SIGTERM and then makes sure nothing it started is left: every
// process it spawned carries a marker of its own in the environment.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { now, pidsWithEnv, waitForExit, waitGone, withMaxFds } from './proc.mjs';

const MARKER = 'BENCH_SYSTEM';
const STOP_TIMEOUT_MS = 10_000;

export function createCommandSystem({ name, argv, env = {}, maxFds }) {
  const id = randomUUID();
  let child;
  return {
    name,
    /** Spawns the command at once (synchronously); resolves with its pid. */
    async start(port) {
      const [command, ...args] = withMaxFds(argv, maxFds);
      child = spawn(command, args, {
        env: { ...process.env, ...env, PORT: String(port), [MARKER]: id },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('error', (error) => console.error(`${name}: ${error.message}`));
      return { pid: child.pid };
    },
    pid: () => child?.pid,
    /** The command's descendants that are alive (for pm2-runtime: the app). */
    workerPids: () => pidsWithEnv(MARKER, id).filter((pid) => pid !== child?.pid),
    async stop(timeoutMs = STOP_TIMEOUT_MS) {
      const exited = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(now());
        else child.once('exit', () => resolve(now()));
      });
      child.kill('SIGTERM');
      await waitForExit(child, timeoutMs);
      return {
        exitCode: child.exitCode ?? child.signalCode,
        exitedAt: await exited,
        left: await waitGone(pidsWithEnv(MARKER, id), 3000),
      };
    },
  };
}
