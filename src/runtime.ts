// Where the pure core meets the OS: events go into transition(), effects come out and are carried out
// here (spawn, kill, timers, log lines, status reports, exit). Nothing else decides anything.

import type { RunConfig } from './cli/options.js';
import { initialModel, transition } from './core/transition.js';
import type { Effect, Event, Model, TimerName } from './core/types.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SPAWN } from './exit-codes.js';
import { type Listener, listenerInfos } from './listen/listeners.js';
import { isAccepting } from './os/accept-probe.js';
import { type Child, signalProcess, spawnChild } from './os/child.js';
import type { Logger } from './os/logger.js';
import { watchMemory } from './os/memory-watch.js';
import { describeNotReady } from './os/not-ready.js';
import { forEachLine } from './os/output-lines.js';
import { wantsIpc, wantsReadyFd, watchReadiness } from './os/readiness.js';
import { isControlSignal } from './os/signals.js';
import { PRELOAD_URL } from './paths.js';
import { FIRST_LISTEN_FD } from './protocol.js';

export interface RuntimeOptions {
  config: RunConfig;
  listeners: Listener[];
  logger: Logger;
  baseEnv: NodeJS.ProcessEnv;
  /** Called with the model whenever it changes (the logger prints its phase). */
  onModel?: (model: Model) => void;
  /** Called once, when the first generation is ready. */
  onFirstReady?: (pid: number) => void;
  /** SIGUSR2: replace tsdaemon itself (cli.ts starts the successor). */
  onUpgrade?: () => void;
  /** The final stop began: close tsdaemon's copies of the listening sockets (the pool decides when). */
  onCloseListeners?: () => void;
}

interface Running {
  child: Child;
  startedAt: number;
}

export interface GenerationStatus {
  worker: number;
  generation: number;
  pid?: number;
  status: 'starting' | 'serving' | 'stopping';
  uptimeMs?: number;
  /** A generation still starting after a few seconds: what its threads wait in, or why tsdaemon cannot tell. */
  waiting?: string;
}

export interface SupervisorStatus {
  pid: number;
  state: string;
  uptimeMs: number;
  restarts: number;
  failedRestarts: number;
  lastFailure?: string;
  rssBytes: number;
  generations: GenerationStatus[];
  listeners: { name: string; fd: number; address: string }[];
}

export type ReloadOutcome =
  | { ok: true; generation: number; pid?: number }
  /** queued: the reload could not run yet (the first start is still in progress) and runs once it is ready. */
  | { ok: false; error: string; queued?: boolean };

/** What the control socket can ask of a running supervisor (or of one worker slot). */
export interface Supervisor {
  /** Resolves with tsdaemon's exit code once the core decided to exit. */
  done: Promise<number>;
  status(): SupervisorStatus;
  /** A hot restart, as SIGHUP; resolves once the new generation is ready, or the restart failed. */
  reload(): Promise<ReloadOutcome>;
  /** A lame-duck drain, as SIGTERM. */
  stop(): void;
}

/** One worker slot: a Supervisor that takes its signals from the caller. */
export interface Worker extends Supervisor {
  index: number;
  signal(signal: NodeJS.Signals): void;
}

interface ReloadWaiter {
  /** The first generation this reload can be answered by. */
  minGen: number;
  failures: number;
  resolve: (outcome: ReloadOutcome) => void;
}

/** How long an exited child's captured output may still trickle in before its exit is reported. */
const OUTPUT_GRACE_MS = 500;

/**
 * One worker slot (TSDAEMON_WORKER=index): its generations, restarts and drains, until the core decides
 * it is over. Signals come from the caller (workers.ts routes them to every slot).
 */
export function runWorker(options: RuntimeOptions & { index: number; workers: number }): Worker {
  const { index } = options;
  const { config, listeners, logger } = options;
  const infos = listenerInfos(listeners, FIRST_LISTEN_FD);
  const fds = listeners.map((l) => l.fd);
  const inodes = listeners.map((l) => l.inode).filter((inode) => inode > 0);
  const timers = new Map<string, NodeJS.Timeout>();
  const children = new Map<number, Running>();
  const startedAt = Date.now();
  let model = initialModel({
    stopSignal: config.stopSignal,
    stopSignalNumber: config.stopSignalNumber,
    lameDuckMs: config.lameDuckMs,
    lameDuckDelayMs: config.lameDuckDelayMs,
    readyTimeoutMs: config.readyTimeoutMs,
    restart: config.restart,
    maxRestarts: config.maxRestarts,
    restartWindowMs: config.restartWindowMs,
  });
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const waiters: ReloadWaiter[] = [];
  let firstReady = false;
  const answerWaiters = (): void => {
    for (const waiter of [...waiters]) {
      const current = model.generations.find((g) => g.status === 'serving');
      const trying = model.generations.some((g) => g.id >= waiter.minGen && g.status === 'starting');
      let outcome: ReloadOutcome | undefined;
      if (current && current.id >= waiter.minGen) {
        outcome =
          current.pid === undefined
            ? { ok: true, generation: current.id }
            : { ok: true, generation: current.id, pid: current.pid };
      } else if (model.phase === 'draining' || model.phase === 'stopped') {
        outcome = { ok: false, error: 'tsdaemon is stopping' };
      } else if (model.failures > waiter.failures && !trying && !model.restartQueued) {
        outcome = { ok: false, error: model.lastFailure ?? 'the restart failed' };
      }
      if (outcome) {
        waiters.splice(waiters.indexOf(waiter), 1);
        if (outcome.ok) void answerOnceOldStopsAccepting(waiter, outcome);
        else waiter.resolve(outcome);
      }
    }
  };

  // A reload is done when the new generation serves and the old ones no longer take connections: the
  // stop signal is sent, but an old child accepts until its event loop has run the handler (milliseconds
  // under load), so `tsdaemon reload && curl` could otherwise still reach the old code. Capped at 1 s for
  // an app that keeps its listener open while it drains.
  const answerOnceOldStopsAccepting = async (waiter: (typeof waiters)[number], outcome: ReloadOutcome) => {
    const inodeSet = new Set(inodes);
    const deadline = Date.now() + 1000;
    const stillAccepting = () =>
      model.generations.some((g) => {
        const pid = g.status === 'stopping' ? g.pid : undefined;
        return pid !== undefined && isAccepting(pid, inodeSet, false);
      });
    while (inodeSet.size > 0 && Date.now() < deadline && stillAccepting()) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    waiter.resolve(outcome);
  };

  const dispatch = (event: Event): void => {
    if (event.type !== 'signal' || event.signal !== 'SIGUSR1')
      logger.log('debug', `event ${event.type}`, flatten(event));
    const step = transition(model, event);
    model = step.model;
    options.onModel?.(model);
    const nowReady = !firstReady && model.phase === 'running';
    if (nowReady) firstReady = true;
    for (const effect of step.effects) perform(effect);
    // After the effects: the line that says the generation is ready is logged before anyone hears it.
    if (nowReady) options.onFirstReady?.(process.pid);
    if (waiters.length > 0) answerWaiters();
  };

  const timerEvent = (timer: TimerName, gen: number): Event =>
    timer === 'ready'
      ? { type: 'ready-timeout', gen }
      : timer === 'ready-warn'
        ? { type: 'ready-slow', gen }
        : timer === 'deadline'
          ? { type: 'drain-deadline', gen }
          : timer === 'backoff'
            ? { type: 'backoff-over' }
            : { type: 'lame-duck-delay-over' };

  const spawn = (gen: number): void => {
    const spec = {
      command: config.command,
      args: config.args,
      baseEnv: options.baseEnv,
      fds,
      listeners: infos,
      generation: gen,
      worker: index,
      supervisorPid: process.pid,
      ...(config.preload ? { preloadUrl: PRELOAD_URL.href } : {}),
      stopSignal: config.stopSignal,
      lameDuckMs: config.lameDuckMs,
      readyMode: config.ready.kind,
      readyFd: wantsReadyFd(config.ready),
      captureOutput: config.logFile !== undefined,
      ipc: wantsIpc(config.ready),
    };
    const child = spawnChild(spec);
    if (child.pid === undefined) {
      child.error.then((error) => {
        const status =
          error.code === 'ENOENT'
            ? EXIT_NOT_FOUND
            : error.code === 'EACCES'
              ? EXIT_NOT_EXECUTABLE
              : EXIT_SPAWN;
        dispatch({ type: 'spawn-failed', gen, status, reason: `${config.command}: ${error.message}` });
      });
      return;
    }
    children.set(gen, { child, startedAt: Date.now() });
    const output: Promise<void>[] = [];
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const log = (line: string) =>
        logger.log('info', line, { child: name, generation: gen, pid: child.pid });
      if (stream) output.push(forEachLine(stream, log, () => logger.backpressure()));
    }
    // Events are dispatched after the current step's effects are all carried out, never in the middle.
    queueMicrotask(() => dispatch({ type: 'spawned', gen, pid: child.pid }));
    const stopWatching = watchReadiness(
      config.ready,
      { pid: child.pid, readyStream: child.readyStream, ipc: child.ipc, inodes },
      (how) => dispatch({ type: 'ready', gen, how, at: Date.now() }),
    );
    // The exit is reported once its last output lines are logged (or soon after, if a grandchild keeps the
    // pipe open).
    child.exited.then(async (exit) => {
      if (output.length > 0) {
        const grace = new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS).unref());
        await Promise.race([Promise.all(output), grace]);
      }
      stopWatching();
      children.delete(gen);
      // Whatever the main process left in its group (grandchildren) goes with it.
      signalProcess(child.pid, 'SIGKILL', true);
      dispatch({ type: 'exited', gen, ...exit, at: Date.now() });
    });
  };

  const perform = (effect: Effect): void => {
    switch (effect.type) {
      case 'spawn':
        spawn(effect.gen);
        return;
      case 'kill': {
        const running = children.get(effect.gen);
        if (!running) return;
        logger.log('debug', `kill ${effect.signal}`, {
          generation: effect.gen,
          pid: running.child.pid,
          group: effect.group,
        });
        if (!signalProcess(running.child.pid, effect.signal, effect.group)) {
          logger.log('debug', 'already gone (ESRCH)', { generation: effect.gen });
        }
        return;
      }
      case 'start-timer': {
        const key = `${effect.timer}:${effect.gen}`;
        clearTimeout(timers.get(key));
        timers.set(
          key,
          setTimeout(() => {
            timers.delete(key);
            dispatch(timerEvent(effect.timer, effect.gen));
          }, effect.ms),
        );
        return;
      }
      case 'cancel-timer': {
        const key = `${effect.timer}:${effect.gen}`;
        clearTimeout(timers.get(key));
        timers.delete(key);
        return;
      }
      case 'log':
        logger.log(
          effect.level,
          effect.message,
          options.workers > 1 ? { worker: index, ...effect.fields } : effect.fields,
        );
        return;
      case 'report':
        report();
        return;
      case 'warn-not-ready': {
        const running = children.get(effect.gen);
        if (!running) return;
        logger.log(
          'warn',
          `generation ${effect.gen} not ready after ${Math.round(effect.afterMs / 1000)} s: ${notReadyReason(running.child.pid)}`,
          { generation: effect.gen, pid: running.child.pid },
        );
        return;
      }
      case 'close-listeners':
        options.onCloseListeners?.();
        return;
      case 'exit':
        for (const timer of timers.values()) clearTimeout(timer);
        timers.clear();
        finish(effect.code);
        return;
    }
  };

  /** What a generation that is slow to get ready waits in, and the --ready modes that need no probe. */
  const listenerNames = new Map(listeners.filter((l) => l.inode > 0).map((l) => [l.inode, l.name]));
  const notReadyReason = (pid: number): string => describeNotReady(pid, listenerNames);

  const status = (): SupervisorStatus => {
    const now = Date.now();
    const snapshot: SupervisorStatus = {
      pid: process.pid,
      state: model.phase,
      uptimeMs: now - startedAt,
      restarts: model.restarts,
      failedRestarts: model.failures,
      rssBytes: process.memoryUsage.rss(),
      generations: model.generations.map((g) => {
        const running = children.get(g.id);
        const entry: GenerationStatus = { worker: index, generation: g.id, status: g.status };
        if (g.pid !== undefined) entry.pid = g.pid;
        if (running) entry.uptimeMs = now - running.startedAt;
        if (running && g.status === 'starting' && g.readyWarnings > 0)
          entry.waiting = notReadyReason(running.child.pid);
        return entry;
      }),
      listeners: listeners.map((l, i) => ({ name: l.name, fd: FIRST_LISTEN_FD + i, address: l.description })),
    };
    if (model.lastFailure !== undefined) snapshot.lastFailure = model.lastFailure;
    return snapshot;
  };

  const report = (): void => {
    const snapshot = status();
    logger.log('info', 'status', {
      uptimeS: Math.round(snapshot.uptimeMs / 1000),
      restarts: snapshot.restarts,
      generations: snapshot.generations
        .map(
          (g) =>
            `${g.generation}:${g.status}:pid=${g.pid ?? '-'}:up=${g.uptimeMs === undefined ? '-' : `${Math.round(g.uptimeMs / 1000)}s`}`,
        )
        .join(','),
      lastFailure: snapshot.lastFailure,
      rssMiB: Math.round(snapshot.rssBytes / 104857.6) / 10,
      listeners: snapshot.listeners.map((l) => `${l.name}=${l.address}`).join(','),
    });
  };

  const onControlSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') logger.reopen();
    dispatch(isControlSignal(signal) ? { type: 'signal', signal } : { type: 'forward', signal });
  };

  dispatch({ type: 'start' });
  if (config.maxMemoryBytes !== undefined) {
    const stopWatching = watchMemory({
      limitBytes: config.maxMemoryBytes,
      serving: () => {
        const g = model.generations.find((x) => x.status === 'serving');
        return g?.pid === undefined ? undefined : { gen: g.id, pid: g.pid };
      },
      onOver: (gen, rssBytes) =>
        dispatch({ type: 'over-memory', gen, rssBytes, limitBytes: config.maxMemoryBytes ?? 0 }),
    });
    done.then(stopWatching);
  }
  return {
    index,
    signal: onControlSignal,
    done,
    status,
    reload() {
      if (model.phase === 'draining' || model.phase === 'stopped') {
        return Promise.resolve({ ok: false, error: 'tsdaemon is stopping' });
      }
      const first = model.generations.find((g) => g.status === 'starting');
      if (model.phase === 'starting' && first) {
        // Nothing serves yet, so there is nothing to restart: the SIGHUP is queued behind the start, and
        // the caller hears so now rather than waiting out a start that may never end.
        onControlSignal('SIGHUP');
        const running = children.get(first.id);
        const since = running ? ` (${Math.round((Date.now() - running.startedAt) / 1000)} s so far)` : '';
        return Promise.resolve({
          ok: false,
          queued: true,
          error: `generation ${first.id} is still starting${since}; the reload is queued and runs once it is ready`,
        });
      }
      return new Promise((resolve) => {
        waiters.push({ minGen: model.nextGen, failures: model.failures, resolve });
        onControlSignal('SIGHUP');
      });
    },
    stop: () => onControlSignal('SIGTERM'),
  };
}

function flatten(event: Event): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key !== 'type' && (typeof value === 'string' || typeof value === 'number')) out[key] = value;
  }
  return out;
}
