// --workers N: N worker slots share the same listening sockets and the kernel spreads connections over
// them (no proxy hop, any language). Each slot is a runWorker() with its own generations, readiness,
// crash restarts and memory limit; this module routes signals to them and adds what spans them:
// - SIGHUP: a rolling restart, one slot after the other, each slot's successor ready before its old
//   generation drains, so capacity never drops below N; SIGHUPs during it make one more round.
// - SIGTERM, SIGINT, SIGQUIT and forwarded signals: to every slot.
// - SIGTTIN / SIGTTOU: one slot more / the last slot drained and removed.
// - A slot that ends on its own (a crash loop gave up, or a child exited and --restart said no) ends the
//   service: the others are drained and tsdaemon exits with that slot's status.
import type { Logger } from './os/logger.js';
import { isControlSignal, onSignal } from './os/signals.js';
import {
  type ReloadOutcome,
  type RuntimeOptions,
  runWorker,
  type Supervisor,
  type SupervisorStatus,
  type Worker,
} from './runtime.js';

export interface SupervisorOptions extends RuntimeOptions {
  workers: number;
}

export function runSupervisor(options: SupervisorOptions): Supervisor {
  const { logger } = options;
  const workers: Worker[] = [];
  let stopping = false;
  let finalCode: number | undefined;
  /** The last failure of a slot that is gone (its status can no longer be asked). */
  let lastFailure: string | undefined;
  let firstReady = 0;
  let initialCount = options.workers;
  let rolling: Promise<ReloadOutcome> | undefined;
  let rollAgain = false;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  // tsdaemon closes its copies of the listening sockets once every slot is in its final stop: a slot that
  // retires (SIGTTOU) alone must not take the sockets from the others.
  const closing = new Set<number>();
  const closeListenersIfAllStop = (): void => {
    if (workers.length > 0 && workers.every((w) => closing.has(w.index))) options.onCloseListeners?.();
  };

  const start = (index: number): Worker => {
    const worker = runWorker({
      ...options,
      index,
      workers: options.workers,
      onCloseListeners: () => {
        closing.add(index);
        closeListenersIfAllStop();
      },
      ...(index === 0 && options.onModel ? { onModel: options.onModel } : { onModel: () => {} }),
      onFirstReady: (pid) => {
        firstReady++;
        if (firstReady === initialCount) options.onFirstReady?.(pid);
      },
    });
    workers.push(worker);
    worker.done.then((code) => {
      lastFailure = worker.status().lastFailure ?? lastFailure;
      workers.splice(workers.indexOf(worker), 1);
      const retired = retiring.delete(worker);
      if (!stopping && !retired) {
        // A slot ended on its own: the service as a whole cannot go on as configured.
        stopping = true;
        finalCode = code;
        if (workers.length > 0)
          logger.log('error', `worker ${index} ended (status ${code}): stopping the others`);
        for (const other of workers) other.signal('SIGTERM');
      } else if (finalCode === undefined && code !== 0 && !retired) finalCode = code;
      if (workers.length === 0) {
        detach();
        finish(finalCode ?? 0);
      } else closeListenersIfAllStop();
    });
    return worker;
  };
  const retiring = new Set<Worker>();

  /** One slot after the other; stops at the first failure (the remaining slots keep their generation). */
  const rollingReload = async (): Promise<ReloadOutcome> => {
    let last: ReloadOutcome = { ok: false, error: 'no worker' };
    do {
      rollAgain = false;
      for (const worker of [...workers].sort((a, b) => a.index - b.index)) {
        if (stopping) return { ok: false, error: 'tsdaemon is stopping' };
        last = await worker.reload();
        if (!last.ok) return last;
      }
    } while (rollAgain && !stopping);
    return last;
  };
  const reload = (): Promise<ReloadOutcome> => {
    if (workers.length === 1 && !rolling) return (workers[0] as Worker).reload();
    if (rolling) {
      rollAgain = true;
      return rolling;
    }
    rolling = rollingReload().finally(() => {
      rolling = undefined;
    });
    return rolling;
  };

  const status = (): SupervisorStatus => {
    const slots = [...workers].sort((a, b) => a.index - b.index).map((w) => w.status());
    const first = slots[0];
    const snapshot: SupervisorStatus = {
      pid: process.pid,
      state: first?.state ?? 'stopped',
      uptimeMs: first?.uptimeMs ?? 0,
      restarts: slots.reduce((sum, s) => sum + s.restarts, 0),
      failedRestarts: slots.reduce((sum, s) => sum + s.failedRestarts, 0),
      rssBytes: process.memoryUsage.rss(),
      generations: slots.flatMap((s) => s.generations),
      listeners: first?.listeners ?? [],
    };
    const failure = slots.map((s) => s.lastFailure).find((f) => f !== undefined) ?? lastFailure;
    if (failure !== undefined) snapshot.lastFailure = failure;
    return snapshot;
  };

  const report = (logger: Logger): void => {
    const snapshot = status();
    logger.log('info', 'status', {
      state: snapshot.state,
      workers: workers.length,
      restarts: snapshot.restarts,
      generations: snapshot.generations
        .map((g) => `w${g.worker}:${g.generation}:${g.status}:pid=${g.pid ?? '-'}`)
        .join(','),
      lastFailure: snapshot.lastFailure,
      rssMiB: Math.round(snapshot.rssBytes / 104857.6) / 10,
      listeners: snapshot.listeners.map((l) => `${l.name}=${l.address}`).join(','),
    });
  };

  const onWorkersSignal = (signal: NodeJS.Signals): void => {
    switch (signal) {
      case 'SIGHUP':
        if (workers.length > 1) {
          logger.reopen();
          void reload();
          return;
        }
        break;
      case 'SIGUSR2':
        if (options.onUpgrade) {
          options.onUpgrade();
          return;
        }
        break;
      case 'SIGUSR1':
        if (workers.length > 1) {
          report(logger);
          return;
        }
        break;
      case 'SIGTTIN':
        if (stopping) return;
        logger.log('info', `SIGTTIN: one worker more (${workers.length + 1})`);
        initialCount = -1; // readiness of late slots is not the daemon's first start
        start(Math.max(-1, ...workers.map((w) => w.index)) + 1);
        return;
      case 'SIGTTOU': {
        const last = [...workers].sort((a, b) => b.index - a.index)[0];
        if (stopping || !last || workers.length - retiring.size <= 1) return;
        logger.log(
          'info',
          `SIGTTOU: one worker fewer (${workers.length - 1 - retiring.size}), draining worker ${last.index}`,
        );
        retiring.add(last);
        last.signal('SIGTERM');
        return;
      }
      case 'SIGTERM':
      case 'SIGINT':
      case 'SIGQUIT':
        stopping = true;
        break;
    }
    for (const worker of workers) worker.signal(signal);
    if (!isControlSignal(signal) && workers.length === 0)
      logger.log('debug', `${signal}: no worker to forward to`);
  };

  for (let i = 0; i < options.workers; i++) start(i);
  // Taken once every slot started, with any signals that arrived during start-up.
  const detach = onSignal(onWorkersSignal);
  return {
    done,
    status,
    reload,
    stop: () => onWorkersSignal('SIGTERM'),
  };
}
