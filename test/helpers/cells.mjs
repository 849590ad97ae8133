// The situations behind each row of docs/states.md: for a (state, event, when) of the doc, the worker (or
// pool) model in that state and the event to feed it. test/states.test.mjs drives the core with them and
// holds the outcome against the row.
import { DEFAULT_CRASH_POLICY } from '../../dist/core/crash-policy.js';
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
