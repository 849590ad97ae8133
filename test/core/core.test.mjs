// The pure worker core: the lifecycle scenarios of docs/operations.md, and random event sequences against the
// invariants (each cell's decision is checked against docs/states.md in states.test.mjs). No process, no
// timer: events in, effects out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_CRASH_POLICY } from '../../dist/core/crash-policy.js';
import { initialModel, transition } from '../../dist/core/transition.js';
import { EXIT_DRAIN_TIMEOUT, EXIT_SPAWN } from '../../dist/exit-codes.js';

const SETTINGS = Object.freeze({
  ...DEFAULT_CRASH_POLICY,
  restart: 'never',
  stopSignal: 'SIGTERM',
  stopSignalNumber: 15,
  lameDuckMs: 15000,
  lameDuckDelayMs: 0,
  readyTimeoutMs: 60000,
});
const WITH_DELAY = Object.freeze({ ...SETTINGS, lameDuckDelayMs: 5000 });
const CRASHY_ALWAYS = Object.freeze({ ...SETTINGS, restart: 'always' });

const PHASES = ['starting', 'running', 'restarting', 'backoff', 'recovering', 'draining', 'stopped'];
const EVENT_TYPES = [
  'start',
  'spawned',
  'spawn-failed',
  'ready',
  'exited',
  'reload',
  'stop',
  'quit',
  'forward',
  'ready-timeout',
  'lame-duck-delay-over',
  'drain-deadline',
  'backoff-over',
  'over-memory',
  'ready-slow',
];
const CONTROL_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT'];
const TIMERS = ['ready', 'ready-warn', 'deadline', 'lame-duck-delay', 'backoff'];
const LEVELS = ['error', 'warn', 'info', 'verbose', 'debug'];
const SIGNAL_BY_NUMBER = { 129: 'SIGHUP', 130: 'SIGINT', 131: 'SIGQUIT', 137: 'SIGKILL', 143: 'SIGTERM' };

// ---- events ---------------------------------------------------------------------------------------------

const start = () => ({ type: 'start' });
const spawned = (gen, pid = 1000 + gen) => ({ type: 'spawned', gen, pid });
const spawnFailed = (gen, status, reason = 'spawn node ENOENT') => ({
  type: 'spawn-failed',
  gen,
  status,
  reason,
});
const ready = (gen, how = 'READY=1') => ({ type: 'ready', gen, how });
/** status: the exit code, or 128+N for signal N (as the runtime reports it). */
const exited = (gen, status = 0) => {
  const signal = SIGNAL_BY_NUMBER[status] ?? null;
  return { type: 'exited', gen, code: signal ? null : status, signal, status };
};
/** What the pool tells a worker for a signal (the first one of its kind: a second SIGTERM is quit()). */
const signal = (name) =>
  name === 'SIGHUP'
    ? { type: 'reload', why: name }
    : name === 'SIGQUIT'
      ? { type: 'quit', signal: name }
      : { type: 'stop', why: name };
const quit = (name) => ({ type: 'quit', signal: name });
const forward = (name) => ({ type: 'forward', signal: name });
const readyTimeout = (gen) => ({ type: 'ready-timeout', gen });
const delayOver = () => ({ type: 'lame-duck-delay-over' });
const deadline = (gen) => ({ type: 'drain-deadline', gen });

// ---- checking -------------------------------------------------------------------------------------------

function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function assertEffect(effect) {
  const where = JSON.stringify(effect);
  switch (effect.type) {
    case 'spawn':
      assert.ok(Number.isInteger(effect.gen) && effect.gen >= 1, where);
      break;
    case 'kill':
      assert.ok(Number.isInteger(effect.gen), where);
      assert.match(effect.signal, /^SIG[A-Z0-9]+$/, where);
      assert.equal(typeof effect.group, 'boolean', where);
      break;
    case 'start-timer':
      assert.ok(TIMERS.includes(effect.timer), where);
      assert.ok(Number.isInteger(effect.gen), where);
      assert.ok(Number.isFinite(effect.ms) && effect.ms >= 0, where);
      break;
    case 'cancel-timer':
      assert.ok(TIMERS.includes(effect.timer), where);
      assert.ok(Number.isInteger(effect.gen), where);
      break;
    case 'log':
      assert.ok(LEVELS.includes(effect.level), where);
      assert.equal(typeof effect.message, 'string', where);
      assert.ok(effect.message.length > 0, where);
      break;
    case 'final-stop':
      break;
    case 'serving':
    case 'reloaded':
      assert.ok(Number.isInteger(effect.gen), where);
      break;
    case 'reload-failed':
      assert.equal(typeof effect.reason, 'string', where);
      break;
    case 'warn-not-ready':
      assert.ok(Number.isInteger(effect.gen) && effect.afterMs > 0, where);
      break;
    case 'exit':
      assert.ok(Number.isInteger(effect.code) && effect.code >= 0 && effect.code <= 255, where);
      break;
    default:
      assert.fail(`unknown effect ${where}`);
  }
}

/** The shape every step has, whatever the cell. */
function assertStep(step) {
  assert.equal(typeof step, 'object');
  assert.ok(Array.isArray(step.effects), 'effects is an array');
  assert.ok(PHASES.includes(step.model.phase), `phase ${step.model.phase}`);
  for (const effect of step.effects) assertEffect(effect);
  const exits = step.effects.filter((e) => e.type === 'exit');
  assert.ok(exits.length <= 1, 'at most one exit effect');
  if (exits.length === 1) {
    assert.equal(step.model.phase, 'stopped', 'exit only when stopped');
    assert.equal(step.model.generations.length, 0, 'never exit while a child lives');
  }
}

/** Feed events one by one (each model frozen, so any mutation throws); collect every effect. */
function run(events, { settings = SETTINGS, model = initialModel(settings) } = {}) {
  let effects = [];
  let last = [];
  for (const event of events) {
    const step = transition(deepFreeze(model), event);
    assertStep(step);
    model = step.model;
    last = step.effects;
    effects = [...effects, ...step.effects];
  }
  return { model, effects, last };
}

const ofType = (effects, type) => effects.filter((e) => e.type === type);
const kills = (effects) => ofType(effects, 'kill');
const exitCode = (effects) => ofType(effects, 'exit')[0]?.code;
const gen = (model, id) => model.generations.find((g) => g.id === id);
const ids = (model) => model.generations.map((g) => g.id);

const BOOT = [start(), spawned(1), ready(1)];
const booted = (settings = SETTINGS) => run(BOOT, { settings }).model;

// ---- the table ------------------------------------------------------------------------------------------
// Every cell's decision is checked against docs/states.md in states.test.mjs. Here: scenarios that run
// through several cells, and random runs against the invariants.

/** Every event type, in each variant worth trying on this model. */
function eventsFor(type, model) {
  const gens = [...ids(model), model.nextGen, 99];
  switch (type) {
    case 'start':
      return [start()];
    case 'spawned':
      return gens.map((g) => spawned(g));
    case 'spawn-failed':
      return gens.flatMap((g) => [spawnFailed(g, 127), spawnFailed(g, EXIT_SPAWN)]);
    case 'ready':
      return gens.map((g) => ready(g));
    case 'exited':
      return gens.flatMap((g) => [exited(g, 0), exited(g, 7), exited(g, 143), exited(g, 137)]);
    case 'reload':
      return [signal('SIGHUP')];
    case 'stop':
      return [signal('SIGTERM'), signal('SIGINT')];
    case 'quit':
      return [quit('SIGQUIT'), quit('SIGTERM')];
    case 'forward':
      return [forward('SIGUSR2'), forward('SIGWINCH')];
    case 'ready-timeout':
      return gens.map(readyTimeout);
    case 'lame-duck-delay-over':
      return [delayOver()];
    case 'drain-deadline':
      return gens.map(deadline);
    case 'backoff-over':
      return [{ type: 'backoff-over' }];
    case 'over-memory':
      return gens.map((g) => ({ type: 'over-memory', gen: g, rssBytes: 2e9, limitBytes: 1e9 }));
    case 'ready-slow':
      return gens.map((g) => ({ type: 'ready-slow', gen: g }));
  }
  throw new Error(`no events for ${type}`);
}

// ---- scenarios ------------------------------------------------------------------------------------------

describe('start', () => {
  it('spawns generation 1 with a ready timer and a not-ready warning timer', () => {
    const { model, effects } = run([start()]);
    assert.equal(model.phase, 'starting');
    assert.deepEqual(ofType(effects, 'spawn'), [{ type: 'spawn', gen: 1 }]);
    assert.deepEqual(ofType(effects, 'start-timer'), [
      { type: 'start-timer', timer: 'ready', gen: 1, ms: SETTINGS.readyTimeoutMs },
      { type: 'start-timer', timer: 'ready-warn', gen: 1, ms: 5000 },
    ]);
    assert.deepEqual(model.generations, [{ id: 1, status: 'starting', killed: false, readyWarnings: 0 }]);
  });

  it('warns after 5 s and then every 10 s while generation 1 is not ready, and stops once it is', () => {
    const slow = (gen) => ({ type: 'ready-slow', gen });
    const { effects } = run([start(), spawned(1), slow(1), slow(1), slow(1)]);
    assert.deepEqual(
      ofType(effects, 'warn-not-ready').map((e) => e.afterMs),
      [5000, 15000, 25000],
    );
    const { last } = run([start(), spawned(1), slow(1), ready(1)]);
    assert.ok(last.some((e) => e.type === 'cancel-timer' && e.timer === 'ready-warn'));
    assert.deepEqual(run([...BOOT, slow(1)]).last, [], 'no warning for a generation that serves');
  });

  it('with a ready timeout of 5 s or less there is no not-ready warning timer', () => {
    const { effects } = run([start()], { settings: { ...SETTINGS, readyTimeoutMs: 5000 } });
    assert.ok(!effects.some((e) => e.type === 'start-timer' && e.timer === 'ready-warn'));
  });

  it('records the pid and turns running once generation 1 is ready', () => {
    const { model, last } = run(BOOT);
    assert.equal(model.phase, 'running');
    assert.deepEqual(model.generations, [
      { id: 1, pid: 1001, status: 'serving', killed: false, readyWarnings: 0 },
    ]);
    assert.deepEqual(ofType(last, 'cancel-timer'), [
      { type: 'cancel-timer', timer: 'ready', gen: 1 },
      { type: 'cancel-timer', timer: 'ready-warn', gen: 1 },
    ]);
    assert.equal(model.restarts, 0);
  });

  it('exits 127 when generation 1 cannot be spawned (command not found)', () => {
    const { model, effects } = run([start(), spawnFailed(1, 127)]);
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(effects), 127);
    assert.ok(
      ofType(effects, 'log').some((l) => l.level === 'error' && l.message.includes('spawn node ENOENT')),
    );
  });

  it('drains and exits 68 when generation 1 is not ready in time', () => {
    const timedOut = run([start(), spawned(1), readyTimeout(1)]);
    assert.equal(timedOut.model.phase, 'draining');
    assert.deepEqual(kills(timedOut.effects), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
    assert.ok(ofType(timedOut.effects, 'start-timer').some((t) => t.timer === 'deadline' && t.gen === 1));
    assert.equal(exitCode(timedOut.effects), undefined, 'not before the child is gone');
    const { model, last } = run([exited(1, 143)], { model: timedOut.model });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), EXIT_SPAWN);
    assert.equal(EXIT_SPAWN, 68);
  });

  it('exits with the status of generation 1 when it dies before it is ready', () => {
    const { model, effects } = run([start(), spawned(1), exited(1, 3)]);
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(effects), 3);
  });
});

describe('the child exits on its own', () => {
  it('exits with the child status 7', () => {
    const { model, last } = run([exited(1, 7)], { model: booted() });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), 7);
    assert.ok(ofType(last, 'log').some((l) => l.level === 'error'));
  });

  it('exits 0 when the child exits 0', () => {
    assert.equal(exitCode(run([exited(1, 0)], { model: booted() }).effects), 0);
  });

  it('exits 128+N when the child dies of signal N', () => {
    assert.equal(exitCode(run([exited(1, 137)], { model: booted() }).effects), 137);
  });
});

describe('SIGTERM / SIGINT: lame-duck drain', () => {
  it('sends the stop signal to the child (not its group) and starts the deadline, then exits 0', () => {
    const draining = run([signal('SIGTERM')], { model: booted() });
    assert.equal(draining.model.phase, 'draining');
    assert.deepEqual(kills(draining.effects), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
    assert.deepEqual(ofType(draining.effects, 'start-timer'), [
      { type: 'start-timer', timer: 'deadline', gen: 1, ms: SETTINGS.lameDuckMs },
    ]);
    assert.equal(exitCode(draining.effects), undefined);
    const { model, last } = run([exited(1, 0)], { model: draining.model });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), 0);
    assert.ok(ofType(last, 'cancel-timer').some((t) => t.timer === 'deadline' && t.gen === 1));
  });

  it('counts an exit by the stop signal itself (128+15) as clean: exit 0', () => {
    assert.equal(exitCode(run([signal('SIGTERM'), exited(1, 143)], { model: booted() }).effects), 0);
  });

  it('uses settings.stopSignal and its number', () => {
    const settings = { ...SETTINGS, stopSignal: 'SIGINT', stopSignalNumber: 2 };
    const drained = run([signal('SIGTERM')], { model: booted(settings) });
    assert.deepEqual(kills(drained.effects), [{ type: 'kill', gen: 1, signal: 'SIGINT', group: false }]);
    assert.equal(exitCode(run([exited(1, 130)], { model: drained.model }).effects), 0);
  });

  it('exits with the child status when the child fails its drain (exit 3)', () => {
    assert.equal(exitCode(run([signal('SIGINT'), exited(1, 3)], { model: booted() }).effects), 3);
  });

  it('SIGKILLs the process group at the deadline and exits 69 once it is gone', () => {
    const killed = run([signal('SIGTERM'), deadline(1)], { model: booted() });
    assert.deepEqual(kills(killed.last), [{ type: 'kill', gen: 1, signal: 'SIGKILL', group: true }]);
    assert.ok(ofType(killed.last, 'log').some((l) => l.level === 'warn'));
    assert.equal(gen(killed.model, 1).killed, true);
    assert.equal(exitCode(killed.effects), undefined, 'never exits while the child lives');
    const { model, last } = run([exited(1, 137)], { model: killed.model });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), EXIT_DRAIN_TIMEOUT);
    assert.equal(EXIT_DRAIN_TIMEOUT, 69);
  });

  it('ignores a second deadline for a generation already killed', () => {
    const killed = run([signal('SIGTERM'), deadline(1)], { model: booted() }).model;
    assert.deepEqual(run([deadline(1)], { model: killed }).last, []);
  });

  it('kills every generation (group) at once on a second SIGTERM and exits 143 once they exit', () => {
    const restarting = run([signal('SIGHUP'), spawned(2)], { model: booted() }).model;
    const draining = run([signal('SIGTERM')], { model: restarting });
    assert.equal(draining.model.phase, 'draining');
    assert.deepEqual(
      kills(draining.effects).map((k) => [k.gen, k.signal]),
      [
        [1, 'SIGTERM'],
        [2, 'SIGTERM'],
      ],
    );
    assert.deepEqual(
      run([signal('SIGTERM')], { model: draining.model }).effects,
      [],
      'the pool decides a second one',
    );
    const fast = run([quit('SIGTERM')], { model: draining.model });
    assert.deepEqual(kills(fast.last), [
      { type: 'kill', gen: 1, signal: 'SIGKILL', group: true },
      { type: 'kill', gen: 2, signal: 'SIGKILL', group: true },
    ]);
    const first = run([exited(1, 137)], { model: fast.model });
    assert.equal(exitCode(first.effects), undefined, 'generation 2 still lives');
    const { model, last } = run([exited(2, 137)], { model: first.model });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), 143);
  });

  it('exits 130 on SIGINT then SIGINT', () => {
    const { effects } = run([signal('SIGINT'), quit('SIGINT'), exited(1, 137)], { model: booted() });
    assert.equal(exitCode(effects), 130);
  });

  it('drains both generations on SIGTERM during a restart', () => {
    const { model, effects } = run([signal('SIGHUP'), spawned(2), signal('SIGTERM'), exited(2, 0)], {
      model: booted(),
    });
    assert.equal(model.phase, 'draining');
    assert.deepEqual(ids(model), [1]);
    assert.ok(ofType(effects, 'cancel-timer').some((t) => t.timer === 'ready' && t.gen === 2));
    assert.equal(exitCode(run([exited(1, 143)], { model }).effects), 0);
  });
});

describe('SIGQUIT: fast stop', () => {
  it('SIGKILLs the group now and exits 131', () => {
    const quit = run([signal('SIGQUIT')], { model: booted() });
    assert.equal(quit.model.phase, 'draining');
    assert.deepEqual(kills(quit.effects), [{ type: 'kill', gen: 1, signal: 'SIGKILL', group: true }]);
    const { model, last } = run([exited(1, 137)], { model: quit.model });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(last), 131);
  });

  it('exits 131 at once when no child was started yet', () => {
    const { model, effects } = run([signal('SIGQUIT')]);
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(effects), 131);
  });
});

describe('SIGHUP: hot restart', () => {
  it('spawns a new generation next to the serving one', () => {
    const { model, effects } = run([signal('SIGHUP')], { model: booted() });
    assert.equal(model.phase, 'restarting');
    assert.deepEqual(ofType(effects, 'spawn'), [{ type: 'spawn', gen: 2 }]);
    assert.ok(ofType(effects, 'start-timer').some((t) => t.timer === 'ready' && t.gen === 2));
    assert.deepEqual(kills(effects), [], 'the old one keeps serving');
    assert.equal(gen(model, 1).status, 'serving');
    assert.equal(gen(model, 2).status, 'starting');
  });

  it('stops the old generation only once the new one is ready', () => {
    const { model, last } = run([signal('SIGHUP'), spawned(2), ready(2)], { model: booted() });
    assert.equal(model.phase, 'running');
    assert.equal(model.restarts, 1);
    assert.deepEqual(kills(last), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
    assert.ok(ofType(last, 'start-timer').some((t) => t.timer === 'deadline' && t.gen === 1));
    assert.equal(gen(model, 1).status, 'stopping');
    assert.equal(gen(model, 2).status, 'serving');
    const done = run([exited(1, 143)], { model });
    assert.equal(done.model.phase, 'running');
    assert.deepEqual(ids(done.model), [2]);
    assert.equal(exitCode(done.effects), undefined);
  });

  it('SIGKILLs an old generation that outlives its deadline and goes on running', () => {
    const restarted = run([signal('SIGHUP'), spawned(2), ready(2), deadline(1)], { model: booted() });
    assert.deepEqual(kills(restarted.last), [{ type: 'kill', gen: 1, signal: 'SIGKILL', group: true }]);
    const { model, effects } = run([exited(1, 137)], { model: restarted.model });
    assert.equal(model.phase, 'running');
    assert.equal(exitCode(effects), undefined);
  });

  it('queues a SIGHUP that arrives during a restart and runs it when the pending one is ready', () => {
    const queued = run([signal('SIGHUP'), spawned(2), signal('SIGHUP')], { model: booted() });
    assert.equal(queued.model.phase, 'restarting');
    assert.equal(queued.model.queuedRestart, 'SIGHUP during the restart');
    assert.deepEqual(ofType(queued.last, 'spawn'), [], 'not at once');
    const { model, last } = run([ready(2)], { model: queued.model });
    assert.equal(model.phase, 'restarting');
    assert.equal(model.queuedRestart, undefined);
    assert.deepEqual(ofType(last, 'spawn'), [{ type: 'spawn', gen: 3 }]);
    assert.deepEqual(kills(last), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
    assert.equal(gen(model, 2).status, 'serving');
  });

  it('keeps the old generation serving when the new one exits before it is ready', () => {
    const { model, last } = run([signal('SIGHUP'), spawned(2), exited(2, 1)], { model: booted() });
    assert.equal(model.phase, 'running');
    assert.deepEqual(ids(model), [1]);
    assert.equal(gen(model, 1).status, 'serving');
    assert.match(model.lastFailure, /generation 2 exited before it was ready/);
    assert.ok(ofType(last, 'log').some((l) => l.level === 'error'));
    assert.deepEqual(
      kills(last),
      [{ type: 'kill', gen: 2, signal: 'SIGKILL', group: true }],
      'its group only',
    );
    assert.equal(exitCode(last), undefined);
    assert.equal(model.restarts, 0);
  });

  it('SIGKILLs the group of a new generation that is not ready in time; the old one keeps serving', () => {
    const { model, last } = run([signal('SIGHUP'), spawned(2), readyTimeout(2)], { model: booted() });
    assert.equal(model.phase, 'running');
    assert.deepEqual(kills(last), [{ type: 'kill', gen: 2, signal: 'SIGKILL', group: true }]);
    assert.equal(gen(model, 1).status, 'serving');
    assert.match(model.lastFailure, /not ready within 60000 ms/);
    const gone = run([exited(2, 137)], { model });
    assert.equal(gone.model.phase, 'running');
    assert.equal(exitCode(gone.effects), undefined);
  });

  it('keeps the old generation serving when the new one cannot be spawned', () => {
    const { model, last } = run([signal('SIGHUP'), spawnFailed(2, 127)], { model: booted() });
    assert.equal(model.phase, 'running');
    assert.deepEqual(ids(model), [1]);
    assert.equal(model.lastFailure, 'spawn node ENOENT');
    assert.equal(exitCode(last), undefined);
  });

  it('ignores SIGHUP while draining', () => {
    const draining = run([signal('SIGTERM')], { model: booted() }).model;
    const { model, last } = run([signal('SIGHUP')], { model: draining });
    assert.equal(model.phase, 'draining');
    assert.deepEqual(ofType(last, 'spawn'), []);
  });

  it('lets the successor take over when the serving generation exits during the restart', () => {
    const { model } = run([signal('SIGHUP'), spawned(2), exited(1, 7), ready(2)], { model: booted() });
    assert.equal(model.phase, 'running');
    assert.deepEqual(ids(model), [2]);
  });
});

describe('forwarded signals', () => {
  it('forwards other signals to the serving generation', () => {
    const { effects } = run([forward('SIGUSR2')], { model: booted() });
    assert.deepEqual(effects, [{ type: 'kill', gen: 1, signal: 'SIGUSR2', group: false }]);
  });

  it('forwards to the serving generation, not the one still starting, during a restart', () => {
    const restarting = run([signal('SIGHUP'), spawned(2)], { model: booted() }).model;
    assert.deepEqual(run([forward('SIGWINCH')], { model: restarting }).effects, [
      { type: 'kill', gen: 1, signal: 'SIGWINCH', group: false },
    ]);
  });

  it('forwards to the first generation before it is ready', () => {
    assert.deepEqual(run([start(), spawned(1), forward('SIGUSR2')]).last, [
      { type: 'kill', gen: 1, signal: 'SIGUSR2', group: false },
    ]);
  });
});

describe('lame-duck delay', () => {
  it('keeps serving for the delay, then sends the stop signal', () => {
    const waiting = run([signal('SIGTERM')], { model: booted(WITH_DELAY) });
    assert.equal(waiting.model.phase, 'draining');
    assert.deepEqual(kills(waiting.effects), []);
    assert.deepEqual(ofType(waiting.effects, 'start-timer'), [
      { type: 'start-timer', timer: 'lame-duck-delay', gen: 0, ms: 5000 },
    ]);
    assert.equal(gen(waiting.model, 1).status, 'serving');
    const stopping = run([delayOver()], { model: waiting.model });
    assert.deepEqual(kills(stopping.effects), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
    assert.ok(ofType(stopping.effects, 'start-timer').some((t) => t.timer === 'deadline' && t.gen === 1));
    assert.equal(exitCode(run([exited(1, 0)], { model: stopping.model }).effects), 0);
  });

  it('stops a generation that is still starting at once, and the serving one after the delay', () => {
    const restarting = run([signal('SIGHUP'), spawned(2)], { model: booted(WITH_DELAY) }).model;
    const waiting = run([signal('SIGTERM')], { model: restarting });
    assert.deepEqual(kills(waiting.effects), [{ type: 'kill', gen: 2, signal: 'SIGTERM', group: false }]);
    const over = run([delayOver()], { model: waiting.model });
    assert.deepEqual(kills(over.effects), [{ type: 'kill', gen: 1, signal: 'SIGTERM', group: false }]);
  });

  it('kills everything at once on a second SIGTERM during the delay', () => {
    const { effects } = run([signal('SIGTERM'), quit('SIGTERM'), exited(1, 137)], {
      model: booted(WITH_DELAY),
    });
    assert.deepEqual(kills(effects), [
      { type: 'kill', gen: 1, signal: 'SIGKILL', group: true },
      { type: 'kill', gen: 1, signal: 'SIGKILL', group: true },
    ]);
    assert.equal(exitCode(effects), 143);
  });

  it('is ignored outside a drain', () => {
    assert.deepEqual(run([delayOver()], { model: booted(WITH_DELAY) }).last, []);
  });
});

describe('stopped', () => {
  it('ignores every event', () => {
    const stopped = run([exited(1, 0)], { model: booted() }).model;
    assert.equal(stopped.phase, 'stopped');
    for (const type of EVENT_TYPES) {
      for (const event of eventsFor(type, stopped)) {
        const step = transition(stopped, event);
        assert.equal(step.model, stopped);
        assert.deepEqual(step.effects, []);
      }
    }
  });
});

// ---- suspected bugs: each asserts a promise of docs/operations.md and docs/errors.md ---------------------

describe('no child left and no exit (the old one keeps serving, or tsdaemon exits)', () => {
  it('exits when the serving child died during a restart and the new one then times out', () => {
    const events = [signal('SIGHUP'), spawned(2), exited(1, 7), readyTimeout(2), exited(2, 137)];
    const { model, effects } = run(events, { model: booted() });
    assert.equal(model.phase, 'stopped');
    assert.notEqual(exitCode(effects), undefined);
    assert.notEqual(exitCode(effects), 0);
  });

  it('exits when the serving child died during a restart and the new one then fails to spawn', () => {
    const { model, effects } = run([signal('SIGHUP'), exited(1, 7), spawnFailed(2, 127)], {
      model: booted(),
    });
    assert.equal(model.phase, 'stopped');
    assert.notEqual(exitCode(effects), undefined);
    assert.notEqual(exitCode(effects), 0);
  });
});

describe('a crash is not a clean drain (exit 0 only after a clean drain that tsdaemon started)', () => {
  it('keeps the crashed child status 7 when SIGTERM arrives while an old generation drains', () => {
    const events = [signal('SIGHUP'), spawned(2), ready(2), exited(2, 7), signal('SIGTERM'), exited(1, 0)];
    assert.equal(exitCode(run(events, { model: booted() }).effects), 7);
  });

  it('exits 7 when the serving child crashes with 7 during the lame-duck delay', () => {
    assert.equal(exitCode(run([signal('SIGTERM'), exited(1, 7)], { model: booted(WITH_DELAY) }).effects), 7);
  });
});

describe('a late spawn result of an abandoned generation', () => {
  it('does not end the restart that is under way', () => {
    const events = [signal('SIGHUP'), readyTimeout(2), signal('SIGHUP'), spawnFailed(2, 127)];
    const { model } = run(events, { model: booted() });
    assert.equal(model.phase, 'restarting');
    assert.equal(gen(model, 3).status, 'starting');
    const again = run([signal('SIGHUP')], { model });
    assert.deepEqual(ofType(again.effects, 'spawn'), [], 'queued, not a second starting generation');
  });
});

// ---- random runs against a fake runtime -----------------------------------------------------------------

// The fake runtime keeps what the real one would know: which children were asked for, started, ready or
// gone, and which timers run. Each step it delivers one event that could really happen next: a spawn result,
// a ready or an exit of a live child, a due timer (never before its generation's spawn result), a signal.
// With `stale`, it delivers a late one instead (a second ready, the exit of a child already reaped, a timer
// that no longer runs), which the core must shrug off.

const actionArb = fc.record({
  pick: fc.nat({ max: 1000 }),
  stale: fc.nat({ max: 9 }).map((n) => n === 0),
  status: fc.constantFrom(0, 1, 7, 127, 137, 143),
  // SIGHUP weighs most: restarts are where generations overlap.
  signal: fc.oneof({ weight: 4, arbitrary: fc.constant('SIGHUP') }, fc.constantFrom(...CONTROL_SIGNALS)),
});
const runArb = fc.record({
  settings: fc.constantFrom(SETTINGS, WITH_DELAY, CRASHY_ALWAYS),
  actions: fc.array(actionArb, { maxLength: 30 }),
});

/** [event, what it does to the fake runtime] for every event that could arrive now. */
function nextEvents(action, model, procs, timers) {
  const options = [
    [signal(action.signal), () => {}],
    [forward('SIGUSR2'), () => {}],
  ];
  const fire = (key, event) => [event, () => timers.delete(key)];
  if (!action.stale) {
    for (const [g, state] of procs) {
      if (state === 'requested') {
        options.push([spawned(g), () => procs.set(g, 'alive')]);
        options.push([spawnFailed(g, action.status), () => procs.set(g, 'gone')]);
      }
      if (state === 'alive') options.push([ready(g), () => procs.set(g, 'ready')]);
      if (state === 'alive' || state === 'ready')
        options.push([exited(g, action.status), () => procs.set(g, 'gone')]);
    }
    for (const key of timers) {
      const [timer, g] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      // A spawn's result comes within milliseconds, long before any of its timers is due.
      if (procs.get(g) === 'requested') continue;
      if (timer === 'ready') options.push(fire(key, readyTimeout(g)));
      if (timer === 'deadline') options.push(fire(key, deadline(g)));
      if (timer === 'lame-duck-delay') options.push(fire(key, delayOver()));
      if (timer === 'backoff') options.push(fire(key, { type: 'backoff-over' }));
    }
    return options;
  }
  for (let g = 1; g < model.nextGen; g++) {
    const state = procs.get(g);
    if (state === 'ready' || state === 'gone') options.push([ready(g), () => {}]);
    if (state === 'gone') options.push([exited(g, action.status), () => {}], [spawned(g), () => {}]);
    if (!timers.has(`ready:${g}`)) options.push([readyTimeout(g), () => {}]);
    if (!timers.has(`deadline:${g}`)) options.push([deadline(g), () => {}]);
  }
  if (!timers.has('lame-duck-delay:0')) options.push([delayOver(), () => {}]);
  if (!timers.has('backoff:0')) options.push([{ type: 'backoff-over' }, () => {}]);
  return options;
}

/** Run start and then one event per action, calling check(before, event, step, runtime) after each. */
function simulate({ settings, actions }, check) {
  let model = deepFreeze(initialModel(settings));
  const procs = new Map();
  const timers = new Set();
  const deliver = (event) => {
    const step = transition(model, event);
    for (const effect of step.effects) {
      if (effect.type === 'spawn') procs.set(effect.gen, 'requested');
      if (effect.type === 'start-timer') timers.add(`${effect.timer}:${effect.gen}`);
      if (effect.type === 'cancel-timer') timers.delete(`${effect.timer}:${effect.gen}`);
    }
    check(model, event, step, { procs, timers });
    model = deepFreeze(step.model);
  };
  deliver(start());
  for (const action of actions) {
    const options = nextEvents(action, model, procs, timers);
    const [event, happen] = options[action.pick % options.length];
    happen();
    deliver(event);
  }
}

const count = (model, status) => model.generations.filter((g) => g.status === status).length;

describe('random runs', () => {
  it('keep the safety invariants', () => {
    fc.assert(
      fc.property(runArb, (scenario) => {
        let exits = 0;
        simulate(scenario, (before, event, step, { procs, timers }) => {
          const where = `after ${JSON.stringify(event)}: ${JSON.stringify(step.model)}`;
          assertStep(step);
          const { model, effects } = step;
          exits += ofType(effects, 'exit').length;
          assert.ok(exits <= 1, 'exits once');
          if (before.phase === 'stopped') assert.deepEqual(effects, [], 'stopped stays silent');
          for (const s of ofType(effects, 'spawn'))
            assert.equal(s.gen, before.nextGen, 'generations count up');
          assert.ok(count(model, 'serving') <= 1, `one serving ${where}`);
          assert.ok(count(model, 'starting') <= 1, `one starting ${where}`);
          for (const k of kills(effects)) assert.ok(gen(before, k.gen), `kill of a live generation ${where}`);
          for (const g of before.generations) {
            const after = gen(model, g.id);
            if (g.killed && after) assert.ok(after.killed, `a killed generation stays killed ${where}`);
            if (g.status === 'stopping' && after)
              assert.equal(after.status, 'stopping', `no way back ${where}`);
          }
          if (model.phase === 'draining' || model.phase === 'stopped')
            assert.ok(model.stop, `a reason ${where}`);
          // The model knows exactly which children live...
          const living = [...procs].filter(([, state]) => state !== 'gone').map(([g]) => g);
          if (model.phase !== 'stopped') assert.deepEqual(ids(model), living, `children ${where}`);
          // ...and every wait has a deadline.
          for (const g of model.generations) {
            if (g.status === 'starting') assert.ok(timers.has(`ready:${g.id}`), `ready timer ${where}`);
            if (g.status === 'stopping' && !g.killed) {
              assert.ok(timers.has(`deadline:${g.id}`), `deadline timer ${where}`);
            }
            if (g.status === 'serving' && model.phase === 'draining') {
              assert.ok(timers.has('lame-duck-delay:0'), `lame-duck delay timer ${where}`);
            }
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never sit without a child and without exiting; running means one child serves, restarting one starts', () => {
    fc.assert(
      fc.property(runArb, (scenario) => {
        simulate(scenario, (_before, event, { model }, { timers }) => {
          const where = `after ${JSON.stringify(event)}: ${JSON.stringify(model)}`;
          if (model.phase === 'backoff') assert.ok(timers.has('backoff:0'), `backoff timer ${where}`);
          else if (model.phase !== 'stopped')
            assert.ok(model.generations.length > 0, `no child, no exit ${where}`);
          if (model.phase === 'running') assert.equal(count(model, 'serving'), 1, where);
          if (model.phase === 'restarting') assert.equal(count(model, 'starting'), 1, where);
        });
      }),
      // More runs than elsewhere: the failing paths need a restart, a crash and a failed successor in a row.
      { numRuns: 2000 },
    );
  });
});

describe('crash restarts (--restart, --max-restarts)', () => {
  const CRASHY = Object.freeze({
    ...SETTINGS,
    restart: 'on-failure',
    maxRestarts: 2,
    restartWindowMs: 30_000,
  });
  const at = (event, ms) => ({ ...event, at: ms });

  it('a serving child that crashes is started again after a doubling backoff', () => {
    let { model, effects } = run([at(exited(1, 7), 1000)], { model: booted(CRASHY) });
    assert.equal(model.phase, 'backoff');
    assert.deepEqual(ofType(effects, 'start-timer'), [
      { type: 'start-timer', timer: 'backoff', gen: 0, ms: 100 },
    ]);
    ({ model, effects } = run(
      [{ type: 'backoff-over' }, spawned(2), at(ready(2), 1200), at(exited(2, 7), 1300)],
      { model },
    ));
    assert.equal(model.phase, 'backoff');
    assert.deepEqual(ofType(effects, 'start-timer').at(-1), {
      type: 'start-timer',
      timer: 'backoff',
      gen: 0,
      ms: 200,
    });
  });

  it('gives up with the child status after more than maxRestarts crashes in the window', () => {
    const events = [
      at(exited(1, 7), 1000),
      { type: 'backoff-over' },
      spawned(2),
      at(ready(2), 1150),
      at(exited(2, 7), 1200),
      { type: 'backoff-over' },
      spawned(3),
      at(ready(3), 1450),
      at(exited(3, 9), 1500),
    ];
    const { model, effects } = run(events, { model: booted(CRASHY) });
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(effects), 9);
    assert.ok(ofType(effects, 'log').some((l) => l.message.includes('(crash loop: 3 crashes')));
  });

  it('a child that stayed up long enough resets the backoff', () => {
    const events = [
      at(exited(1, 7), 1000),
      { type: 'backoff-over' },
      spawned(2),
      at(ready(2), 1200),
      at(exited(2, 7), 60_000),
    ];
    const { effects } = run(events, { model: booted(CRASHY) });
    assert.deepEqual(ofType(effects, 'start-timer').at(-1), {
      type: 'start-timer',
      timer: 'backoff',
      gen: 0,
      ms: 100,
    });
  });

  it('exit 0 under on-failure, or any exit under never, ends tsdaemon', () => {
    assert.equal(exitCode(run([at(exited(1, 0), 1000)], { model: booted(CRASHY) }).effects), 0);
    const never = { ...CRASHY, restart: 'never' };
    assert.equal(exitCode(run([at(exited(1, 7), 1000)], { model: booted(never) }).effects), 7);
  });

  it('a first generation that dies before it was ever ready is retried, and counted (systemd Restart=)', () => {
    const events = [
      start(),
      spawned(1),
      at(exited(1, 3), 100),
      { type: 'backoff-over' },
      spawned(2),
      at(exited(2, 3), 300),
      { type: 'backoff-over' },
      spawned(3),
      at(exited(3, 3), 700),
    ];
    const { model, effects } = run(events, { settings: CRASHY });
    assert.deepEqual(
      ofType(effects, 'start-timer')
        .filter((t) => t.timer === 'backoff')
        .map((t) => t.ms),
      [100, 200],
    );
    assert.equal(model.phase, 'stopped');
    assert.equal(exitCode(effects), 3);
    const lines = ofType(effects, 'log').map((l) => l.message);
    assert.ok(lines.includes('generation 1 exited before it was ready (code 3)'), lines.join('\n'));
    assert.ok(
      lines.includes(
        'starting -> backoff (restart in 100 ms; crash restart 1 of the 2 that --max-restarts=2/30s allows)',
      ),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => l.startsWith('recovering -> draining (crash loop: 3 crashes')));
  });

  it('not retried: the line says why (--restart=never; exit 0 under on-failure)', () => {
    const never = run([start(), spawned(1), at(exited(1, 3), 100)], {
      settings: { ...CRASHY, restart: 'never' },
    });
    assert.equal(exitCode(never.effects), 3);
    assert.ok(
      ofType(never.effects, 'log').some(
        (l) => l.message === 'starting -> draining (not restarted: --restart=never)',
      ),
    );
    const clean = run([start(), spawned(1), at(exited(1, 0), 100)], { settings: CRASHY });
    assert.equal(exitCode(clean.effects), 0);
    assert.ok(
      ofType(clean.effects, 'log').some((l) =>
        l.message.includes('not restarted: --restart=on-failure restarts only after a failure'),
      ),
    );
  });

  it('a crash restart that is not ready in time counts as a crash: killed, backed off, a loop of them exits 68', () => {
    const timeout = (gen, ms) => ({ ...readyTimeout(gen), at: ms });
    const events = [at(exited(1, 7), 1000), { type: 'backoff-over' }, spawned(2), timeout(2, 2000)];
    const once = run(events, { model: booted(CRASHY) });
    assert.equal(once.model.phase, 'backoff');
    assert.deepEqual(kills(once.last), [{ type: 'kill', gen: 2, signal: 'SIGKILL', group: true }]);
    const loop = run(
      [exited(2, 137), { type: 'backoff-over' }, spawned(3), timeout(3, 3000), exited(3, 137)],
      {
        model: once.model,
      },
    );
    assert.equal(loop.model.phase, 'stopped');
    assert.equal(exitCode(loop.effects), EXIT_SPAWN);
  });

  it('SIGHUP during the backoff starts the next generation at once', () => {
    const { model, effects } = run([at(exited(1, 7), 1000), signal('SIGHUP')], { model: booted(CRASHY) });
    assert.equal(model.phase, 'recovering');
    assert.equal(model.generations.at(-1).status, 'starting');
    assert.deepEqual(ofType(effects, 'cancel-timer').at(-1), {
      type: 'cancel-timer',
      timer: 'backoff',
      gen: 0,
    });
    assert.ok(ofType(effects, 'spawn').some((e) => e.gen === 2));
  });
});

describe('memory limit (--max-memory)', () => {
  it('a serving child over the limit gets a hot restart, not a kill', () => {
    const { model, effects } = run([{ type: 'over-memory', gen: 1, rssBytes: 2e9, limitBytes: 1e9 }], {
      model: booted(),
    });
    assert.equal(model.phase, 'restarting');
    assert.ok(ofType(effects, 'spawn').some((e) => e.gen === 2));
    assert.deepEqual(ofType(effects, 'kill'), [], 'the old one keeps serving until the new one is ready');
    assert.ok(
      ofType(effects, 'log').some((l) => l.level === 'warn' && l.message.includes('over the memory limit')),
    );
  });
});

describe('the final stop lets go of the listening sockets (final-stop)', () => {
  const closes = (effects) => ofType(effects, 'final-stop').length;

  it('SIGTERM: closed before the stop signal is sent', () => {
    const { last } = run([...BOOT, signal('SIGTERM')]);
    const at = last.findIndex((e) => e.type === 'final-stop');
    const kill = last.findIndex((e) => e.type === 'kill');
    assert.ok(at >= 0 && at < kill, JSON.stringify(last));
  });

  it('a hot restart keeps them; a lame-duck delay keeps them until it is over', () => {
    assert.equal(closes(run([...BOOT, signal('SIGHUP'), spawned(2), ready(2), exited(1, 0)]).effects), 0);
    const delayed = run([...BOOT, signal('SIGTERM')], { settings: WITH_DELAY });
    assert.equal(closes(delayed.effects), 0);
    assert.equal(closes(run([delayOver()], { model: delayed.model }).effects), 1);
  });

  it('SIGQUIT, the child exiting on its own, a crash loop and a failed first start close them, once', () => {
    assert.equal(closes(run([...BOOT, signal('SIGQUIT')]).effects), 1);
    assert.equal(closes(run([...BOOT, exited(1, 0)]).effects), 1);
    assert.equal(closes(run([start(), spawned(1), readyTimeout(1)]).effects), 1);
    assert.equal(closes(run([...BOOT, signal('SIGTERM'), quit('SIGTERM'), exited(1, 137)]).effects), 1);
    const settings = { ...SETTINGS, restart: 'always', maxRestarts: 1, restartWindowMs: 30000 };
    const crashes = [...BOOT, exited(1, 1), { type: 'backoff-over' }, spawned(2), ready(2), exited(2, 1)];
    assert.equal(closes(run(crashes, { settings }).effects), 1);
  });
});
