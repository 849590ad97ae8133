// The supervisor's decisions as a table: table[phase][event] → handler. Every (phase, event) pair has an
// entry, even when it is `ignore`, so a missing pair is a type error and the tests can walk every cell.
// Pure: no node:* imports, no clock, no awaits. See types.ts for the vocabulary.
import { EXIT_DRAIN_TIMEOUT, EXIT_SIGNAL_BASE, EXIT_SPAWN } from '../exit-codes.js';
import { countCrash, wantsRestart } from './crash-policy.js';
import type {
  Effect,
  Event,
  EventType,
  Generation,
  Model,
  Phase,
  Settings,
  Step,
  StopReason,
} from './types.js';

type Handler<E extends EventType> = (model: Model, event: Extract<Event, { type: E }>) => Step;
type Table = { [P in Phase]: { [E in EventType]: Handler<E> } };

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/** A generation not ready this long gets a warning that names what it waits in… */
export const READY_WARN_FIRST_MS = 5_000;
/** …and another one this often after that, until it is ready or the ready timeout ends it. */
export const READY_WARN_EVERY_MS = 10_000;

export function initialModel(settings: Settings): Model {
  return {
    phase: 'starting',
    settings,
    generations: [],
    nextGen: 1,
    restartQueued: false,
    restarts: 0,
    failures: 0,
    crashes: 0,
    crashTimes: [],
    listenersClosed: false,
  };
}

export function transition(model: Model, event: Event): Step {
  const handler = table[model.phase][event.type] as Handler<typeof event.type>;
  return handler(model, event as never);
}

// ---- helpers -------------------------------------------------------------------------------------------

const ignore = (model: Model): Step => ({ model, effects: [] });

const log = (
  level: Extract<Effect, { type: 'log' }>['level'],
  message: string,
  fields?: Record<string, string | number | boolean>,
): Effect => (fields ? { type: 'log', level, message, fields } : { type: 'log', level, message });

function find(model: Model, id: number): Generation | undefined {
  return model.generations.find((g) => g.id === id);
}

function withGeneration(model: Model, id: number, patch: Partial<Generation>): Model {
  return { ...model, generations: model.generations.map((g) => (g.id === id ? { ...g, ...patch } : g)) };
}

function serving(model: Model): Generation | undefined {
  return model.generations.find((g) => g.status === 'serving');
}

function pending(model: Model): Generation | undefined {
  return model.generations.find((g) => g.status === 'starting');
}

function pidField(g: Generation | undefined): Record<string, number> {
  return g?.pid === undefined ? {} : { pid: g.pid };
}

function spawnGeneration(model: Model, phase: Phase, why: string): Step {
  const id = model.nextGen;
  const next: Model = {
    ...model,
    phase,
    nextGen: id + 1,
    generations: [...model.generations, { id, status: 'starting', killed: false, readyWarnings: 0 }],
  };
  const arrow = model.phase === phase ? phase : `${model.phase} -> ${phase}`;
  const effects: Effect[] = [
    log('info', `${arrow} (${why})`, { generation: id }),
    { type: 'spawn', gen: id },
    { type: 'start-timer', timer: 'ready', gen: id, ms: model.settings.readyTimeoutMs },
  ];
  if (READY_WARN_FIRST_MS < model.settings.readyTimeoutMs) {
    effects.push({ type: 'start-timer', timer: 'ready-warn', gen: id, ms: READY_WARN_FIRST_MS });
  }
  return { model: next, effects };
}

/** A generation stops waiting to be ready (it is ready, stopped, killed or gone): no more ready timers. */
function cancelReadyTimers(gen: number): Effect[] {
  return [
    { type: 'cancel-timer', timer: 'ready', gen },
    { type: 'cancel-timer', timer: 'ready-warn', gen },
  ];
}

/**
 * The final stop begins: tsdaemon lets go of its copies of the listening sockets (once), so that once the
 * children closed theirs new connections are refused, as with a plain server, instead of queueing in a
 * backlog that nobody will serve and being reset when tsdaemon exits.
 */
function closeListeners(model: Model): Step {
  if (model.listenersClosed) return { model, effects: [] };
  return { model: { ...model, listenersClosed: true }, effects: [{ type: 'close-listeners' }] };
}

/** Tell a generation to stop: the stop signal to its main process, and a deadline for SIGKILL. */
function stopGeneration(model: Model, g: Generation): Step {
  const effects: Effect[] = [];
  if (g.status === 'starting') effects.push(...cancelReadyTimers(g.id));
  effects.push(
    { type: 'kill', gen: g.id, signal: model.settings.stopSignal, group: false },
    { type: 'start-timer', timer: 'deadline', gen: g.id, ms: model.settings.lameDuckMs },
  );
  return { model: withGeneration(model, g.id, { status: 'stopping' }), effects };
}

/** The final stop: every generation is told to stop, and tsdaemon closes its listening sockets first. */
function stopAll(model: Model): Step {
  let step: Step = closeListeners(model);
  for (const g of model.generations) {
    if (g.status === 'stopping') continue;
    const next = stopGeneration(step.model, g);
    step = { model: next.model, effects: [...step.effects, ...next.effects] };
  }
  return step;
}

function killGeneration(model: Model, g: Generation): Step {
  return {
    model: withGeneration(model, g.id, { status: 'stopping', killed: true }),
    effects: [...cancelReadyTimers(g.id), { type: 'kill', gen: g.id, signal: 'SIGKILL', group: true }],
  };
}

function exitCodeFor(stop: StopReason): number {
  switch (stop.kind) {
    case 'child-exit':
    case 'fast':
    case 'failed-start':
      return stop.status;
    case 'drain':
      return stop.dirtyStatus ?? 0;
  }
}

/** Once a stop is decided and the last child is gone, exit. tsdaemon never exits while a child lives. */
function finishIfDone(step: Step): Step {
  const { model } = step;
  if (!model.stop || model.generations.length > 0) return step;
  const code = exitCodeFor(model.stop);
  return {
    model: { ...model, phase: 'stopped' },
    effects: [
      ...step.effects,
      log('info', `${model.phase} -> stopped`, { exitCode: code }),
      { type: 'exit', code },
    ],
  };
}

function beginDrain(model: Model, why: string): Step {
  // A child that already crashed keeps deciding the exit code; a drain does not turn it into 0.
  const stop: StopReason = model.stop?.kind === 'child-exit' ? model.stop : { kind: 'drain' };
  const next: Model = { ...model, phase: 'draining', stop, restartQueued: false };
  const effects: Effect[] = [
    log('info', `${model.phase} -> draining (${why})`, { lameDuckMs: model.settings.lameDuckMs }),
  ];
  const current = serving(next);
  if (model.settings.lameDuckDelayMs > 0 && current) {
    // Keep serving while load balancers notice; children that were still starting are stopped now.
    let step: Step = { model: next, effects };
    for (const g of next.generations.filter((g) => g.status === 'starting')) {
      const s = stopGeneration(step.model, g);
      step = { model: s.model, effects: [...step.effects, ...s.effects] };
    }
    step.effects.push({
      type: 'start-timer',
      timer: 'lame-duck-delay',
      gen: 0,
      ms: model.settings.lameDuckDelayMs,
    });
    return step;
  }
  const stopped = stopAll(next);
  return finishIfDone({ model: stopped.model, effects: [...effects, ...stopped.effects] });
}

/**
 * A restart failed. With a generation still serving, it goes on serving; with none left (it crashed
 * meanwhile), tsdaemon ends as that child did, once every child is gone.
 */
function restartFailed(model: Model, reason: string, status: number, effects: Effect[]): Step {
  const base: Model = { ...model, restartQueued: false, lastFailure: reason, failures: model.failures + 1 };
  if (serving(model)) {
    return {
      model: { ...base, phase: 'running' },
      effects: [...effects, log('error', `restart failed: ${reason}; the old generation keeps serving`)],
    };
  }
  const stop: StopReason = model.stop ?? { kind: 'child-exit', status: model.crashStatus ?? status };
  const rest = stopAll({ ...base, phase: 'draining', stop });
  return finishIfDone({
    model: rest.model,
    effects: [
      ...effects,
      log('error', `restart failed: ${reason}; no generation is left to serve`),
      ...rest.effects,
    ],
  });
}

function fastStop(model: Model, signal: string): Step {
  const status = EXIT_SIGNAL_BASE + (SIGNAL_NUMBERS[signal] ?? 0);
  const closed = closeListeners({
    ...model,
    phase: 'draining',
    stop: { kind: 'fast', status },
    restartQueued: false,
  });
  let step: Step = {
    model: closed.model,
    effects: [
      log('warn', `${model.phase} -> draining (${signal}: killing every child now)`),
      ...closed.effects,
    ],
  };
  for (const g of model.generations) {
    const s = killGeneration(step.model, g);
    step = { model: s.model, effects: [...step.effects, ...s.effects] };
  }
  return finishIfDone(step);
}

function isCleanStop(settings: Settings, status: number): boolean {
  return status === 0 || status === EXIT_SIGNAL_BASE + settings.stopSignalNumber;
}

// ---- handlers ------------------------------------------------------------------------------------------

const onStart: Handler<'start'> = (model) => spawnGeneration(model, 'starting', 'start');

const onSpawned: Handler<'spawned'> = (model, event) => {
  if (!find(model, event.gen)) return ignore(model);
  return {
    model: withGeneration(model, event.gen, { pid: event.pid }),
    effects: [log('debug', 'spawned', { generation: event.gen, pid: event.pid })],
  };
};

const onSpawnFailed: Handler<'spawn-failed'> = (model, event) => {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  const without: Model = { ...model, generations: model.generations.filter((g) => g.id !== event.gen) };
  const effects: Effect[] = [
    ...cancelReadyTimers(event.gen),
    log('error', `cannot start generation ${event.gen}: ${event.reason}`, { generation: event.gen }),
  ];
  if (model.phase === 'starting') {
    return finishIfDone({
      model: { ...without, stop: { kind: 'failed-start', status: event.status } },
      effects,
    });
  }
  if (model.phase === 'restarting' && g.status === 'starting') {
    return restartFailed(without, event.reason, event.status, effects);
  }
  return finishIfDone({ model: without, effects });
};

const onReady: Handler<'ready'> = (model, event) => {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const old = serving(model);
  let step: Step = {
    model: {
      ...withGeneration(
        model,
        g.id,
        event.at === undefined ? { status: 'serving' } : { status: 'serving', readyAt: event.at },
      ),
      phase: 'running',
      crashStatus: undefined,
    },
    effects: [
      ...cancelReadyTimers(g.id),
      log('info', `${model.phase} -> running (generation ${g.id} ready: ${event.how})`, {
        generation: g.id,
        ...pidField(g),
      }),
    ],
  };
  if (old) {
    // Only now that the successor accepts does the old generation stop: at every instant someone accepts.
    const stopped = stopGeneration(step.model, old);
    step = {
      model: { ...stopped.model, restarts: model.restarts + 1 },
      effects: [
        ...step.effects,
        log('info', `draining generation ${old.id}`, { generation: old.id, ...pidField(old) }),
        ...stopped.effects,
      ],
    };
  }
  if (step.model.restartQueued) {
    const again = spawnGeneration(
      { ...step.model, restartQueued: false },
      'restarting',
      'SIGHUP arrived during the restart',
    );
    return { model: again.model, effects: [...step.effects, ...again.effects] };
  }
  return step;
};

const onExited: Handler<'exited'> = (model, event) => {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  const how = event.signal ? `signal ${event.signal}` : `code ${event.code}`;
  const fields = { generation: g.id, ...pidField(g), status: event.status };
  const without: Model = { ...model, generations: model.generations.filter((x) => x.id !== g.id) };
  const effects: Effect[] = [
    ...cancelReadyTimers(g.id),
    { type: 'cancel-timer', timer: 'deadline', gen: g.id },
  ];

  if (g.status === 'stopping') {
    effects.push(log('info', `generation ${g.id} exited (${how})`, fields));
    let stop = without.stop;
    if (stop?.kind === 'drain') {
      if (g.killed) stop = { kind: 'drain', dirtyStatus: EXIT_DRAIN_TIMEOUT };
      else if (!isCleanStop(model.settings, event.status) && stop.dirtyStatus === undefined) {
        stop = { kind: 'drain', dirtyStatus: event.status };
      }
    }
    return finishIfDone({ model: stop ? { ...without, stop } : without, effects });
  }

  if (g.status === 'starting' && model.phase === 'restarting') {
    return restartFailed(
      without,
      `generation ${g.id} exited before it was ready (${how})`,
      event.status,
      effects,
    );
  }

  if (g.status === 'serving' && pending(without)) {
    effects.push(log('warn', `generation ${g.id} exited (${how}) while its successor starts`, fields));
    return { model: { ...without, crashStatus: event.status }, effects };
  }
  // A crash: the serving child exited on its own, or a crash restart died before it was ready.
  const crashed = g.status === 'serving' || (model.phase === 'starting' && model.crashes > 0);
  if (!model.stop && crashed && wantsRestart(model.settings, event.status)) {
    return crashRestart(without, g, event, [
      ...effects,
      log('warn', `generation ${g.id} exited (${how})`, fields),
    ]);
  }
  // Otherwise (the first generation before it was ready, a clean exit under --restart=on-failure, or
  // --restart=never) tsdaemon ends with its status once any draining generations are gone.
  effects.push(log(event.status === 0 ? 'info' : 'error', `generation ${g.id} exited (${how})`, fields));
  let stop: StopReason = model.stop ?? { kind: 'child-exit', status: event.status };
  if (stop.kind === 'drain' && stop.dirtyStatus === undefined && !isCleanStop(model.settings, event.status)) {
    // It exited on its own during the lame-duck delay, and not cleanly.
    stop = { kind: 'drain', dirtyStatus: event.status };
  }
  const rest = stopAll({ ...without, phase: 'draining', stop });
  return finishIfDone({ model: rest.model, effects: [...effects, ...rest.effects] });
};

/**
 * Start the crashed child again after a backoff (crash-policy.ts), or give up with its status after too many
 * restarts in the window, so that systemd, Docker or Kubernetes take over.
 */
function crashRestart(
  model: Model,
  g: Generation,
  event: Extract<Event, { type: 'exited' }>,
  effects: Effect[],
): Step {
  const s = model.settings;
  const count = countCrash(s, model, event.at ?? 0, g.readyAt);
  const window = s.restartWindowMs;
  if (count.loop) {
    const stop: StopReason = { kind: 'child-exit', status: event.status };
    const rest = stopAll({ ...model, phase: 'draining', stop, crashTimes: count.crashTimes });
    return finishIfDone({
      model: rest.model,
      effects: [
        ...effects,
        log('error', `crash loop: ${count.crashTimes.length} crashes within ${window} ms; giving up`, {
          status: event.status,
        }),
        ...rest.effects,
      ],
    });
  }
  const delay = count.backoffMs;
  return {
    model: { ...model, phase: 'starting', crashes: count.crashes, crashTimes: count.crashTimes },
    effects: [
      ...effects,
      log(
        'warn',
        `${model.phase} -> starting (restart in ${delay} ms, crash ${count.crashTimes.length} of ${s.maxRestarts + 1} allowed within ${window} ms)`,
      ),
      { type: 'start-timer', timer: 'backoff', gen: 0, ms: delay },
    ],
  };
}

const onOverMemory: Handler<'over-memory'> = (model, event) => {
  const g = find(model, event.gen);
  if (g?.status !== 'serving' || model.phase !== 'running') return ignore(model);
  const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
  const step = spawnGeneration(
    model,
    'restarting',
    `memory: generation ${g.id} uses ${mib(event.rssBytes)}, over ${mib(event.limitBytes)}`,
  );
  return {
    model: step.model,
    effects: [
      log('warn', `generation ${g.id} is over the memory limit`, {
        rssBytes: event.rssBytes,
        ...pidField(g),
      }),
      ...step.effects,
    ],
  };
};

const onBackoffOver: Handler<'backoff-over'> = (model) =>
  pending(model) ? ignore(model) : spawnGeneration(model, 'starting', 'restart after a crash');

const onSignal: Handler<'signal'> = (model, event) => {
  switch (event.signal) {
    case 'SIGUSR1':
      return { model, effects: [{ type: 'report' }] };
    case 'SIGHUP':
      if (model.phase === 'running') return spawnGeneration(model, 'restarting', 'SIGHUP');
      if (model.phase === 'starting' && model.crashes > 0 && !pending(model)) {
        // Waiting out a crash backoff: a SIGHUP (new code deployed?) starts the next generation now.
        const now = spawnGeneration(model, 'starting', 'SIGHUP during the crash backoff');
        return {
          model: now.model,
          effects: [{ type: 'cancel-timer', timer: 'backoff', gen: 0 }, ...now.effects],
        };
      }
      if (model.phase === 'draining') {
        return { model, effects: [log('warn', 'SIGHUP ignored: draining')] };
      }
      return {
        model: { ...model, restartQueued: true },
        effects: [log('info', `SIGHUP during ${model.phase}: one more restart follows`)],
      };
    case 'SIGTERM':
    case 'SIGINT':
      return model.phase === 'draining' && model.stop?.kind !== 'child-exit'
        ? fastStop(model, event.signal)
        : beginDrain(model, event.signal);
    case 'SIGQUIT':
      return fastStop(model, event.signal);
  }
};

const onForward: Handler<'forward'> = (model, event) => {
  const targets = model.phase === 'draining' ? model.generations : [serving(model) ?? pending(model)];
  const effects: Effect[] = [];
  for (const g of targets)
    if (g) effects.push({ type: 'kill', gen: g.id, signal: event.signal, group: false });
  return { model, effects };
};

const onReadyTimeout: Handler<'ready-timeout'> = (model, event) => {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const reason = `generation ${g.id} was not ready within ${model.settings.readyTimeoutMs} ms`;
  if (model.phase === 'starting') {
    const next: Model = {
      ...model,
      phase: 'draining',
      stop: { kind: 'failed-start', status: EXIT_SPAWN },
      lastFailure: reason,
    };
    const stopped = stopAll(next);
    return {
      model: stopped.model,
      effects: [log('error', `starting -> draining (${reason})`, pidField(g)), ...stopped.effects],
    };
  }
  const killed = killGeneration(model, g);
  return restartFailed(killed.model, reason, EXIT_SPAWN, killed.effects);
};

const onReadySlow: Handler<'ready-slow'> = (model, event) => {
  const g = find(model, event.gen);
  if (g?.status !== 'starting') return ignore(model);
  const afterMs = READY_WARN_FIRST_MS + READY_WARN_EVERY_MS * g.readyWarnings;
  return {
    model: withGeneration(model, g.id, { readyWarnings: g.readyWarnings + 1 }),
    effects: [
      { type: 'warn-not-ready', gen: g.id, afterMs },
      { type: 'start-timer', timer: 'ready-warn', gen: g.id, ms: READY_WARN_EVERY_MS },
    ],
  };
};

const onLameDuckDelayOver: Handler<'lame-duck-delay-over'> = (model) => {
  const stopped = stopAll(model);
  return finishIfDone({
    model: stopped.model,
    effects: [log('info', 'lame-duck delay over: stopping children'), ...stopped.effects],
  });
};

const onDeadline: Handler<'drain-deadline'> = (model, event) => {
  const g = find(model, event.gen);
  if (g?.status !== 'stopping' || g.killed) return ignore(model);
  const killed = killGeneration(model, g);
  return {
    model: killed.model,
    effects: [
      log(
        'warn',
        `generation ${g.id} still running after ${model.settings.lameDuckMs} ms: SIGKILL`,
        pidField(g),
      ),
      ...killed.effects,
    ],
  };
};

// ---- the table -----------------------------------------------------------------------------------------

const live = {
  spawned: onSpawned,
  'spawn-failed': onSpawnFailed,
  ready: onReady,
  exited: onExited,
  signal: onSignal,
  forward: onForward,
  'ready-timeout': onReadyTimeout,
  'drain-deadline': onDeadline,
  'ready-slow': onReadySlow,
} as const;

export const table: Table = {
  starting: {
    start: onStart,
    ...live,
    'lame-duck-delay-over': ignore,
    'backoff-over': onBackoffOver,
    'over-memory': ignore,
  },
  running: {
    start: ignore,
    ...live,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': onOverMemory,
  },
  restarting: {
    start: ignore,
    ...live,
    'lame-duck-delay-over': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  draining: {
    start: ignore,
    ...live,
    'lame-duck-delay-over': onLameDuckDelayOver,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
  stopped: {
    start: ignore,
    spawned: ignore,
    'spawn-failed': ignore,
    ready: ignore,
    exited: ignore,
    signal: ignore,
    forward: ignore,
    'ready-timeout': ignore,
    'lame-duck-delay-over': ignore,
    'drain-deadline': ignore,
    'ready-slow': ignore,
    'backoff-over': ignore,
    'over-memory': ignore,
  },
};
