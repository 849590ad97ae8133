// One generation in the world: spawn it with the listening sockets as fds 3, 4, …, log what it writes
// (with --log-file), watch for its readiness, and report its exit — each as an event for the core.
import type { RunConfig } from '../cli/options.js';
import type { Event } from '../core/types.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SPAWN } from '../exit-codes.js';
import { type Listener, listenerInfos } from '../listen/listeners.js';
import { spawnChild } from '../os/child.js';
import type { Logger } from '../os/logger.js';
import { forEachLine } from '../os/output-lines.js';
import { wantsIpc, wantsReadyFd, watchReadiness } from '../os/readiness.js';
import { PRELOAD_URL } from '../paths.js';
import { FIRST_LISTEN_FD } from '../protocol.js';
import type { Launch } from './interpreter.js';

/** How long an exited child's captured output may still trickle in before its exit is reported. */
const OUTPUT_GRACE_MS = 500;

export interface LauncherOptions {
  config: RunConfig;
  listeners: Listener[];
  logger: Logger;
  /** The environment the children start from. */
  baseEnv: NodeJS.ProcessEnv;
}

export function createLauncher(options: LauncherOptions): Launch {
  const { config, listeners, logger } = options;
  const infos = listenerInfos(listeners, FIRST_LISTEN_FD);
  const fds = listeners.map((l) => l.fd);
  const inodes = listeners.map((l) => l.inode).filter((inode) => inode > 0);

  return (worker, gen, report) => {
    const child = spawnChild({
      command: config.command,
      args: config.args,
      baseEnv: options.baseEnv,
      fds,
      listeners: infos,
      generation: gen,
      worker,
      supervisorPid: process.pid,
      ...(config.preload ? { preloadUrl: PRELOAD_URL.href } : {}),
      stopSignal: config.stopSignal,
      readyMode: config.ready.kind,
      readyFd: wantsReadyFd(config.ready),
      captureOutput: config.logFile !== undefined,
      ipc: wantsIpc(config.ready),
    });
    if (child.pid === undefined) {
      child.error.then((error) => {
        const status =
          error.code === 'ENOENT'
            ? EXIT_NOT_FOUND
            : error.code === 'EACCES'
              ? EXIT_NOT_EXECUTABLE
              : EXIT_SPAWN;
        report({ type: 'spawn-failed', gen, status, reason: `${config.command}: ${error.message}` });
      });
      return undefined;
    }
    const { pid } = child;
    const output: Promise<void>[] = [];
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const log = (line: string) => logger.log('info', line, { child: name, generation: gen, pid });
      if (stream) output.push(forEachLine(stream, log, () => logger.backpressure()));
    }
    // After the spawn effect and whatever follows it in the same step.
    queueMicrotask(() => report({ type: 'spawned', gen, pid }));
    const stopWatching = watchReadiness(
      config.ready,
      { pid, readyStream: child.readyStream, ipc: child.ipc, inodes },
      (how) => report({ type: 'ready', gen, how }),
    );
    // The exit is reported once its last output lines are logged (or soon after, if a grandchild keeps the
    // pipe open).
    child.exited.then(async (exit) => {
      if (output.length > 0) {
        const grace = new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS).unref());
        await Promise.race([Promise.all(output), grace]);
      }
      stopWatching();
      report({ type: 'exited', gen, ...exit } satisfies Event);
    });
    return pid;
  };
}
