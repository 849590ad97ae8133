// Supervise for real: the interpreter with the OS as its dependencies (processes, signals, timers,
// /proc probes, the log, sd_notify), the signals routed to it, and --max-memory sampling.

import { FIRST_LISTEN_FD } from '../child-protocol.js';
import type { RunConfig } from '../cli/options.js';
import type { Settings } from '../core/types.js';
import type { Listener } from '../listen/listeners.js';
import { collectGarbage } from '../os/garbage.js';
import type { Logger } from '../os/log/logger.js';
import { signalProcess } from '../os/process/child.js';
import { watchMemory } from '../os/process/memory-watch.js';
import { onSignal } from '../os/process/signals.js';
import { isAccepting } from '../os/readiness/accept-probe.js';
import { describeNotReady } from '../os/readiness/not-ready.js';
import { createLauncher } from './generation.js';
import { createInterpreter, type Supervisor } from './interpreter.js';

export type { Supervisor } from './interpreter.js';

export interface SupervisorOptions {
  config: RunConfig;
  listeners: Listener[];
  logger: Logger;
  /** The environment the children start from. */
  baseEnv: NodeJS.ProcessEnv;
  /** The state the log prints from now on. */
  showState(state: string): void;
  /** sd_notify: READY=1, RELOADING=1 or STOPPING=1 with a STATUS= text. */
  notify(message: string, status: string): void;
  /** Every worker served once. */
  onFirstReady(pid: number): void;
  /** Every worker is in its final stop: close tsdaemon's copies of the listening sockets. */
  onCloseListeners(): void;
  /** SIGUSR2: replace tsdaemon itself (src/cli/upgrade.ts starts the successor). */
  onUpgrade?: () => void;
}

export function settingsOf(config: RunConfig): Settings {
  return {
    stopSignal: config.stopSignal,
    stopSignalNumber: config.stopSignalNumber,
    lameDuckMs: config.lameDuckMs,
    lameDuckDelayMs: config.lameDuckDelayMs,
    readyTimeoutMs: config.readyTimeoutMs,
    restart: config.restart,
    maxRestarts: config.maxRestarts,
    restartWindowMs: config.restartWindowMs,
    backoffInitialMs: config.backoffInitialMs,
    backoffMaxMs: config.backoffMaxMs,
    stableAfterMs: config.stableAfterMs,
  };
}

/** After a generation exited, the moment its exit has been handled (execa's promises settled, streams closed). */
const GARBAGE_DELAY_MS = 100;

export function runSupervisor(options: SupervisorOptions): Supervisor {
  const { config, listeners, logger } = options;
  const launch = createLauncher(options);
  const inodes = listeners.map((l) => l.inode).filter((inode) => inode > 0);
  const inodeSet = new Set(inodes);
  const listenerNames = new Map(listeners.filter((l) => l.inode > 0).map((l) => [l.inode, l.name]));
  const interpreter = createInterpreter(settingsOf(config), config.workers, {
    launch: (worker, gen, report) =>
      launch(worker, gen, (event) => {
        report(event);
        // A generation has exited: what it held is garbage now (src/os/garbage.ts).
        if (event.type === 'exited') collectGarbage(GARBAGE_DELAY_MS, { ifGrown: true });
      }),
    kill: signalProcess,
    clock: {
      now: () => Date.now(),
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    isAccepting: (pid) => inodeSet.size > 0 && isAccepting(pid, inodeSet, false),
    describeNotReady: (pid) => describeNotReady(pid, listenerNames),
    log: (level, message, fields) => logger.log(level, message, fields),
    showState: options.showState,
    reopenLog: () => logger.reopen(),
    notify: options.notify,
    started: () => options.onFirstReady(process.pid),
    closeListeners: options.onCloseListeners,
    ...(options.onUpgrade ? { upgrade: options.onUpgrade } : {}),
    pid: process.pid,
    rssBytes: () => process.memoryUsage.rss(),
    listeners: listeners.map((l, i) => ({ name: l.name, fd: FIRST_LISTEN_FD + i, address: l.description })),
  });
  // Taken once the workers started, with any signals that arrived during start-up.
  const detach = onSignal((signal) => interpreter.signal(signal));
  interpreter.done.then(detach);
  const limitBytes = config.maxMemoryBytes;
  if (limitBytes !== undefined) {
    const stopWatching = watchMemory({
      limitBytes,
      serving: () =>
        interpreter
          .model()
          .workers.flatMap((w) =>
            w.model.generations.flatMap((g) =>
              g.status === 'serving' && g.pid !== undefined
                ? [{ worker: w.index, gen: g.id, pid: g.pid }]
                : [],
            ),
          ),
      onOver: ({ worker, gen }, rssBytes) =>
        interpreter.dispatch({
          type: 'worker-event',
          worker,
          event: { type: 'over-memory', gen, rssBytes, limitBytes },
        }),
    });
    interpreter.done.then(stopWatching);
  }
  return interpreter;
}
