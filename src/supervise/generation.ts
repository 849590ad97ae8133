// One generation in the world: spawn it with the listening sockets as fds 3, 4, …, log what it writes
// (with --log-file), watch for its readiness, and report its exit — each as an event for the core.

import { FIRST_LISTEN_FD } from '../child-protocol.js';
import type { RunConfig } from '../cli/options.js';
import type { Event } from '../core/types.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SPAWN } from '../exit-codes.js';
import { type Listener, listenerInfos } from '../listen/listeners.js';
import type { Logger } from '../os/log/logger.js';
import { forEachLine } from '../os/log/output-lines.js';
import { spawnChild } from '../os/process/child.js';
import {
  ACCEPT_POLL_MS,
  AUTO_TIMER_MS,
  type ReadyMode,
  wantsIpc,
  wantsReadyFd,
  watchReadiness,
} from '../os/readiness/ready-modes.js';
import { PRELOAD_URL } from '../paths.js';
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
  const readyFd = wantsReadyFd(config.ready) ? FIRST_LISTEN_FD + fds.length : undefined;
  const handedOver = describeFds(listeners, readyFd);
  const readySources = describeReadySources(config.ready, listeners, readyFd);

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
      lameDuckMs: config.lameDuckMs,
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
    // -v: what the child was handed, and what tsdaemon waits for before it counts as ready.
    const fields = { generation: gen, pid, ...(config.workers > 1 || worker > 0 ? { worker } : {}) };
    logger.log('verbose', `generation ${gen} gets ${handedOver}`, fields);
    logger.log('verbose', `generation ${gen} waits to be ready: ${readySources}`, fields);
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

/** "fd 3 = web (tcp 127.0.0.1:8080), fd 4 = the ready pipe" */
function describeFds(listeners: Listener[], readyFd: number | undefined): string {
  const parts = listeners.map((l, i) => `fd ${FIRST_LISTEN_FD + i} = ${l.name} (${l.description})`);
  if (readyFd !== undefined) parts.push(`fd ${readyFd} = the ready pipe ($TSDAEMON_READY_FD)`);
  return parts.length > 0 ? parts.join(', ') : 'no sockets';
}

/** What makes a generation ready (docs/protocol.md#readiness): "READY=1 on fd 4 or …, whichever comes first". */
function describeReadySources(mode: ReadyMode, listeners: Listener[], readyFd: number | undefined): string {
  if (mode.kind === 'timer') return `alive for ${mode.ms} ms`;
  const sources: string[] = [];
  if (readyFd !== undefined) sources.push(`READY=1 on fd ${readyFd}`);
  if (wantsIpc(mode)) sources.push("process.send('ready')");
  const probed = listeners.flatMap((l, i) => (l.inode > 0 ? [`fd ${FIRST_LISTEN_FD + i}`] : []));
  if ((mode.kind === 'auto' || mode.kind === 'accept') && probed.length > 0)
    sources.push(
      `accepting on ${probed.join(' or ')} (looked for every ${ACCEPT_POLL_MS} ms), then its start-up settled`,
    );
  if (mode.kind === 'auto' && probed.length === 0) sources.push(`alive for ${AUTO_TIMER_MS} ms`);
  if (sources.length === 1) return sources[0] as string;
  return `${sources.slice(0, -1).join(', ')} or ${sources.at(-1)}, whichever comes first`;
}
