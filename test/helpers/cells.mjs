// The situations behind each row of docs/states.md: for a (state, event, when) of the doc, the worker (or
// pool) model in that state and the event to feed it. test/core/states.test.mjs drives the core with them and
// holds the outcome against the row.
import { DEFAULT_CRASH_POLICY } from '../../dist/core/crash-policy.js';
import { initialSupervisor, step } from '../../dist/core/supervisor.js';
import { initialModel, transition } from '../../dist/core/transition.js';

export const SETTINGS = Object.freeze({
  ...DEFAULT_CRASH_POLICY,
  stopSignal: 'SIGTERM',
  stopSignalNumber: 15,
  lameDuckMs: 15000,
  lameDuckDelayMs: 0,
  readyTimeoutMs: 60000,
});

// ---- worker events ---------------------------------------------------------------------------------------

export const start = () => ({ type: 'start' });
export const spawned = (gen, at = 100 * gen) => ({ type: 'spawned', gen, pid: 1000 + gen, at });
export const spawnFailed = (gen, status = 127) => ({
  type: 'spawn-failed',
  gen,
  status,
  reason: 'spawn node ENOENT',
});
export const ready = (gen, at) => ({
  type: 'ready',
  gen,
  how: 'READY=1',
  ...(at === undefined ? {} : { at }),
});
export const exited = (gen, status = 7, at = 1000) => {
  const signal = { 137: 'SIGKILL', 143: 'SIGTERM' }[status] ?? null;
  return { type: 'exited', gen, code: signal ? null : status, signal, status, at };
};
export const reload = () => ({ type: 'reload', why: 'SIGHUP' });
export const stop = () => ({ type: 'stop', why: 'SIGTERM' });
export const quit = (signal = 'SIGQUIT') => ({ type: 'quit', signal });
export const forward = () => ({ type: 'forward', signal: 'SIGWINCH' });
export const readyTimeout = (gen) => ({ type: 'ready-timeout', gen });
export const readySlow = (gen) => ({ type: 'ready-slow', gen });
export const deadline = (gen) => ({ type: 'drain-deadline', gen });
export const delayOver = () => ({ type: 'lame-duck-delay-over' });
export const backoffOver = () => ({ type: 'backoff-over' });
export const overMemory = (gen) => ({ type: 'over-memory', gen, rssBytes: 2e9, limitBytes: 1e9 });

/** The worker's model after events, from the initial one. */
export function workerAfter(events, settings = SETTINGS) {
  let model = initialModel(settings);
  for (const event of events) model = transition(model, event).model;
  return model;
}

// ---- the worker's states ---------------------------------------------------------------------------------

const BOOT = [start(), spawned(1), ready(1, 200)];
/** Generation 2 serves, generation 1 still drains. */
const OLD_DRAINING = [...BOOT, reload(), spawned(2), ready(2, 400)];

/** [settings, events]: one way into each state. */
const INTO = {
  initial: [SETTINGS, []],
  starting: [SETTINGS, [start(), spawned(1)]],
  running: [SETTINGS, BOOT],
  restarting: [SETTINGS, [...BOOT, reload(), spawned(2)]],
  backoff: [SETTINGS, [...BOOT, exited(1, 7)]],
  recovering: [SETTINGS, [...BOOT, exited(1, 7), backoffOver(), spawned(2)]],
  draining: [SETTINGS, [...BOOT, stop()]],
  stopped: [SETTINGS, [...BOOT, exited(1, 0)]],
  // The same states with a generation that was told to stop and still runs (generation 1).
  'running, old draining': [SETTINGS, OLD_DRAINING],
  'restarting, old draining': [SETTINGS, [...OLD_DRAINING, reload(), spawned(3)]],
  'backoff, old draining': [SETTINGS, [...OLD_DRAINING, exited(2, 7)]],
  'recovering, old draining': [SETTINGS, [...OLD_DRAINING, exited(2, 7), backoffOver(), spawned(3)]],
  'draining, delay': [{ ...SETTINGS, lameDuckDelayMs: 5000 }, [...BOOT, stop()]],
};

/** The generation each event concerns in each state, when the row does not say. */
const DEFAULT_GEN = {
  starting: 1,
  running: 1,
  restarting: 2,
  backoff: 1,
  recovering: 2,
  draining: 1,
  stopped: 1,
};

const EVENTS = {
  start: () => start(),
  spawned: (gen) => spawned(gen),
  'spawn-failed': (gen) => spawnFailed(gen),
  ready: (gen) => ready(gen, 5000),
  exited: (gen) => exited(gen, 7),
  reload: () => reload(),
  stop: () => stop(),
  quit: () => quit(),
  forward: () => forward(),
  'ready-timeout': (gen) => readyTimeout(gen),
  'ready-slow': (gen) => readySlow(gen),
  'drain-deadline': (gen) => deadline(gen),
  'lame-duck-delay-over': () => delayOver(),
  'backoff-over': () => backoffOver(),
  'over-memory': (gen) => overMemory(gen),
};

/**
 * The rows with a "when": [state it starts from (a key of INTO), the event]. A row without one uses its
 * state's way in and the event for DEFAULT_GEN.
 */
const WHEN = {
  'starting | start | a second time': ['starting', start()],
  'starting | start | tsdaemon starts the worker': ['initial', start()],
  'starting | spawn-failed | the generation that should serve': ['starting', spawnFailed(1)],
  'recovering | spawn-failed | the generation that should serve': ['recovering', spawnFailed(2)],
  'restarting | spawn-failed | the new generation': ['restarting', spawnFailed(2)],
  'running | spawn-failed | a generation given up on': ['running, old draining', spawnFailed(1)],
  'backoff | spawn-failed | a generation given up on': ['backoff, old draining', spawnFailed(1)],
  'draining | spawn-failed | the last generation, given up on': ['draining', spawnFailed(1)],
  'restarting | ready | the new generation': ['restarting', ready(2, 5000)],
  'restarting | ready | the new generation, another reload queued': [
    'restarting',
    [reload(), ready(2, 5000)],
  ],
  'starting | exited | the generation starting': ['starting', exited(1, 7)],
  'starting | exited | the generation starting, --restart does not want it back': [
    'starting',
    exited(1, 3),
    { ...SETTINGS, restart: 'never' },
  ],
  'recovering | ready-timeout | one crash more than --max-restarts allows': [
    'recovering',
    { ...readyTimeout(2), at: 2000 },
    { ...SETTINGS, maxRestarts: 1 },
  ],
  'recovering | exited | the generation starting': ['recovering', exited(2, 7)],
  'running | exited | the serving generation, --restart wants it back': ['running', exited(1, 7)],
  'running | exited | the serving generation, --restart does not want it back': ['running', exited(1, 0)],
  'running | exited | the serving generation, one crash more than --max-restarts allows': [
    'running',
    exited(1, 7),
    { ...SETTINGS, maxRestarts: 0 },
  ],
  'running | exited | a generation told to stop': ['running, old draining', exited(1, 143)],
  'restarting | exited | a generation told to stop': ['restarting, old draining', exited(1, 143)],
  'backoff | exited | a generation told to stop': ['backoff, old draining', exited(1, 143)],
  'recovering | exited | a generation told to stop': ['recovering, old draining', exited(1, 143)],
  'restarting | exited | the new generation': ['restarting', exited(2, 3)],
  'restarting | exited | the serving generation': ['restarting', exited(1, 7)],
  'draining | exited | the last child': ['draining', exited(1, 143)],
  'draining | exited | the serving generation during the lame-duck delay': ['draining, delay', exited(1, 0)],
  'running | stop | with a lame-duck delay': ['running', stop(), { ...SETTINGS, lameDuckDelayMs: 5000 }],
  'restarting | ready-timeout | the new generation': ['restarting', readyTimeout(2)],
  'running | drain-deadline | a generation still stopping': ['running, old draining', deadline(1)],
  'restarting | drain-deadline | a generation still stopping': ['restarting, old draining', deadline(1)],
  'backoff | drain-deadline | a generation still stopping': ['backoff, old draining', deadline(1)],
  'recovering | drain-deadline | a generation still stopping': ['recovering, old draining', deadline(1)],
  'draining | lame-duck-delay-over | after a lame-duck delay': ['draining, delay', delayOver()],
  'running | over-memory | the serving generation': ['running', overMemory(1)],
};

/**
 * The worker model and the event for a row of the doc. Settings may differ from SETTINGS (a row about
 * --max-restarts). Throws for a row with a "when" this file does not know.
 */
export function workerCase(state, type, when) {
  const key = `${state} | ${type} | ${when}`;
  const known = WHEN[key];
  if (when !== '' && !known) throw new Error(`no situation for the row "${key}" in test/helpers/cells.mjs`);
  if (known) {
    const [from, events, settingsFor] = known;
    const [baseSettings, into] = INTO[from];
    const settings = settingsFor ?? baseSettings;
    const all = [events].flat();
    return { settings, model: workerAfter([...into, ...all.slice(0, -1)], settings), event: all.at(-1) };
  }
  const [settings, into] = INTO[state];
  return { settings, model: workerAfter(into, settings), event: EVENTS[type](DEFAULT_GEN[state]) };
}

export const WORKER_WHEN_KEYS = Object.keys(WHEN);

// ---- what the doc's effect words stand for ---------------------------------------------------------------

const TIMERS = {
  ready: 'ready timeout',
  'ready-warn': 'not-ready warning timer',
  deadline: 'lame-duck deadline',
  'lame-duck-delay': 'lame-duck delay',
  backoff: 'backoff timer',
};

function effectWord(effect, settings) {
  switch (effect.type) {
    case 'spawn':
      return 'start a generation';
    case 'kill':
      if (effect.signal === 'SIGKILL' && effect.group) return 'SIGKILL the group';
      if (effect.signal === settings.stopSignal && !effect.group) return 'stop signal';
      return 'forward the signal';
    case 'start-timer':
      return TIMERS[effect.timer];
    case 'cancel-timer':
      return effect.timer === 'backoff' ? 'cancel the backoff' : undefined;
    case 'warn-not-ready':
      return 'not-ready warning';
    case 'serving':
      return 'says ready';
    case 'reloaded':
      return 'says reloaded';
    case 'reload-failed':
      return 'says reload failed';
    case 'final-stop':
      return 'says final stop';
    case 'exit':
      return 'exits';
    case 'log':
      return undefined;
  }
  throw new Error(`no word for the effect ${JSON.stringify(effect)}`);
}

/** The effects of a step in the doc's words: each once, in the order they first come. */
export function effectWords(effects, settings) {
  const words = [];
  for (const effect of effects) {
    const word = effectWord(effect, settings);
    if (word !== undefined && !words.includes(word)) words.push(word);
  }
  return words;
}

// ---- the pool --------------------------------------------------------------------------------------------

const inWorker = (worker, event) => ({ type: 'worker-event', worker, event });
const TWO = [{ type: 'start', workers: 2 }, inWorker(0, spawned(1)), inWorker(1, spawned(1))];
const BOTH_READY = [...TWO, inWorker(0, ready(1, 200)), inWorker(1, ready(1, 200))];
const ROUND = [...BOTH_READY, { type: 'reload', why: 'SIGHUP', id: 1 }, inWorker(0, spawned(2))];

/** The pool (two workers) after inputs, through the whole core (pool and workers). */
export function poolAfter(inputs, settings = SETTINGS) {
  let model = initialSupervisor(settings);
  for (const input of inputs) model = step(model, input).model;
  return model;
}

const POOL_INTO = {
  initial: [],
  starting: [...TWO, inWorker(0, ready(1, 200))],
  running: BOTH_READY,
  reloading: ROUND,
  'reloading, last worker': [...ROUND, inWorker(0, ready(2, 300)), inWorker(1, spawned(2))],
  'reloading, last worker, again': [
    ...ROUND,
    inWorker(0, ready(2, 300)),
    inWorker(1, spawned(2)),
    { type: 'reload', why: 'SIGHUP', id: 2 },
  ],
  stopping: [...BOTH_READY, { type: 'stop', signal: 'SIGTERM' }],
  'stopping, one worker left': [
    ...BOTH_READY,
    { type: 'stop', signal: 'SIGTERM' },
    inWorker(1, exited(1, 143)),
  ],
  stopped: [
    ...BOTH_READY,
    { type: 'quit', signal: 'SIGQUIT' },
    inWorker(0, exited(1, 137)),
    inWorker(1, exited(1, 137)),
  ],
  'running, one worker': [{ type: 'start', workers: 1 }, inWorker(0, spawned(1)), inWorker(0, ready(1, 200))],
  'running, worker 1 retiring': [...BOTH_READY, { type: 'remove-worker' }],
  'starting, a reload queued': [...TWO, inWorker(0, ready(1, 200)), { type: 'reload', why: 'SIGHUP' }],
  'running, worker 1 in its final stop': [...BOTH_READY, { type: 'remove-worker' }],
};

const POOL_EVENTS = {
  start: () => ({ type: 'start', workers: 2 }),
  reload: () => ({ type: 'reload', why: 'tsdaemon reload', id: 7, at: 5000 }),
  stop: () => ({ type: 'stop', signal: 'SIGTERM' }),
  quit: () => ({ type: 'quit', signal: 'SIGQUIT' }),
  report: () => ({ type: 'report' }),
  'add-worker': () => ({ type: 'add-worker' }),
  'remove-worker': () => ({ type: 'remove-worker' }),
  forward: () => ({ type: 'forward', signal: 'SIGWINCH' }),
  'worker-ready': () => ({ type: 'worker-ready', worker: 1, gen: 1 }),
  'worker-reloaded': () => ({ type: 'worker-reloaded', worker: 1, gen: 2 }),
  'worker-reload-failed': () => ({ type: 'worker-reload-failed', worker: 1, reason: 'boom' }),
  'worker-final-stop': () => ({ type: 'worker-final-stop', worker: 1 }),
  'worker-ended': () => ({ type: 'worker-ended', worker: 1, code: 0 }),
};

const POOL_WHEN = {
  'starting | start | no worker yet': ['initial', POOL_EVENTS.start()],
  'starting | worker-ready | the last worker to be ready': ['starting', POOL_EVENTS['worker-ready']()],
  'starting | worker-ready | the last worker to be ready, a reload waiting': [
    'starting, a reload queued',
    POOL_EVENTS['worker-ready'](),
  ],
  'starting | worker-ready | not the last': ['starting', { type: 'worker-ready', worker: 0, gen: 1 }],
  'reloading | worker-reloaded | the worker reloading now, more to go': [
    'reloading',
    { type: 'worker-reloaded', worker: 0, gen: 2, pid: 1002 },
  ],
  'reloading | worker-reloaded | the last worker of the round': [
    'reloading, last worker',
    { type: 'worker-reloaded', worker: 1, gen: 2, pid: 1002 },
  ],
  'reloading | worker-reloaded | the last worker, another reload asked for meanwhile': [
    'reloading, last worker, again',
    { type: 'worker-reloaded', worker: 1, gen: 2 },
  ],
  'reloading | worker-reloaded | another worker': [
    'reloading',
    { type: 'worker-reloaded', worker: 1, gen: 2 },
  ],
  'reloading | worker-reload-failed | the worker reloading now': [
    'reloading',
    { type: 'worker-reload-failed', worker: 0, reason: 'generation 2 exited before it was ready (code 3)' },
  ],
  'reloading | worker-reload-failed | the worker reloading now, which retires (SIGTTOU)': [
    'reloading, last worker retiring',
    { type: 'worker-reload-failed', worker: 1, reason: 'tsdaemon is stopping' },
  ],
  'running | worker-final-stop | the last worker to get there': [
    'running, worker 1 in its final stop',
    { type: 'worker-final-stop', worker: 0 },
  ],
  'running | worker-final-stop | not the last': ['running', { type: 'worker-final-stop', worker: 0 }],
  'running | worker-ended | a retiring worker (SIGTTOU)': [
    'running, worker 1 retiring',
    POOL_EVENTS['worker-ended'](),
  ],
  'running | worker-ended | a worker that ended on its own': [
    'running',
    { type: 'worker-ended', worker: 1, code: 7 },
  ],
  'running | worker-ended | the only worker': [
    'running, one worker',
    { type: 'worker-ended', worker: 0, code: 7 },
  ],
  'stopping | worker-ended | the last worker': [
    'stopping, one worker left',
    { type: 'worker-ended', worker: 0, code: 0 },
  ],
  'stopping | worker-ended | not the last': ['stopping', { type: 'worker-ended', worker: 1, code: 0 }],
  'running | remove-worker | more than one worker': ['running', POOL_EVENTS['remove-worker']()],
  'running | remove-worker | the last worker': ['running, one worker', POOL_EVENTS['remove-worker']()],
};

/** The pool model and the pool event for a row of the doc's pool table. */
export function poolCase(state, type, when) {
  const key = `${state} | ${type} | ${when}`;
  const known = POOL_WHEN[key];
  if (when !== '' && !known) throw new Error(`no situation for the row "${key}" in test/helpers/cells.mjs`);
  const [from, event] = known ?? [state, POOL_EVENTS[type]()];
  if (from === 'reloading, last worker retiring') {
    // Worker 1 is the one reloading when SIGTTOU chooses it (the step that retires it also skips it).
    const model = poolAfter(POOL_INTO['reloading, last worker']);
    return {
      model: { ...model, workers: model.workers.map((w) => ({ ...w, retiring: w.index === 1 })) },
      event,
    };
  }
  return { model: poolAfter(POOL_INTO[from]), event };
}

export const POOL_WHEN_KEYS = Object.keys(POOL_WHEN);

function poolEffectWord(effect) {
  switch (effect.type) {
    case 'to-worker':
      return {
        start: 'start workers',
        reload: 'reload the next worker',
        stop: 'drain workers',
        quit: 'fast-stop workers',
        forward: 'forward to workers',
      }[effect.event.type];
    case 'report':
      return 'status line';
    case 'reopen-log':
      return 'reopen the log';
    case 'answer-reload':
      return `answer: ${effect.outcome.ok ? 'reloaded' : effect.outcome.queued ? 'queued' : 'failed'}`;
    case 'started':
      return 'start complete';
    case 'close-listeners':
      return 'close the sockets';
    case 'exit':
      return 'exit';
    case 'log':
      return undefined;
  }
  throw new Error(`no word for the pool effect ${JSON.stringify(effect)}`);
}

export function poolEffectWords(effects) {
  const words = [];
  for (const effect of effects) {
    const word = poolEffectWord(effect);
    if (word !== undefined && !words.includes(word)) words.push(word);
  }
  return words;
}
