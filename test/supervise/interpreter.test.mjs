// The interpreter with fake processes, a fake clock and a fake log: orderings that real processes rarely
// produce (an exit during readiness, a signal during a spawn, a timer that fires after a stop). The real
// ones are in the other test files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInterpreter } from '../../dist/supervise/interpreter.js';
import { SETTINGS } from '../helpers/cells.mjs';

/** A clock whose time moves only when the test says so. */
function fakeClock() {
  let now = 0;
  const timers = new Set();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const timer = { at: now + ms, callback };
      timers.add(timer);
      return timer;
    },
    clearTimeout: (timer) => timers.delete(timer),
    /** Move time on, firing every timer that falls due, in order. */
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.callback();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}

/** The interpreter with fake dependencies; children are driven by the test through report(). */
function harness({ settings = SETTINGS, workers = 1, accepting = () => false } = {}) {
  const clock = fakeClock();
  const launched = [];
  const kills = [];
  const lines = [];
  const notes = [];
  const calls = [];
  let state = '';
  let nextPid = 500;
  let onLaunch = () => {};
  const deps = {
    launch(worker, gen, report) {
      const pid = nextPid++;
      const child = { worker, gen, pid, report };
      launched.push(child);
      onLaunch(child);
      return pid;
    },
    kill(pid, signal, group) {
      kills.push({ pid, signal, group });
      return true;
    },
    clock,
    isAccepting: (pid) => accepting(pid, clock.now()),
    describeNotReady: (pid) => `pid ${pid} waits in poll`,
    log: (level, message, fields) => lines.push({ level, message, fields, state }),
    showState: (next) => {
      state = next;
    },
    reopenLog: () => calls.push('reopen'),
    notify: (message) => notes.push(message),
    started: () =>
      calls.push(`started after ${lines.filter((l) => l.message.includes('ready:')).length} ready lines`),
    closeListeners: () => calls.push('close'),
    pid: 1,
    rssBytes: () => 1e6,
    listeners: [],
  };
  const interpreter = createInterpreter(settings, workers, deps);
  return {
    interpreter,
    clock,
    launched,
    kills,
    lines,
    notes,
    calls,
    child: (gen, worker = 0) => launched.find((c) => c.gen === gen && c.worker === worker),
    onLaunch: (f) => {
      onLaunch = f;
    },
    said: (re) => lines.filter((l) => re.test(l.message)),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const exit = (gen, code) => ({ type: 'exited', gen, code, signal: null, status: code });

describe('the interpreter', () => {
  it('starts generation 1, records its pid, and reports the first start once its ready line is logged', () => {
    const h = harness();
    assert.equal(h.launched.length, 1);
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.child(1).report({ type: 'ready', gen: 1, how: 'READY=1' });
    assert.deepEqual(h.calls, ['started after 1 ready lines']);
    assert.deepEqual(h.notes, ['READY=1']);
    assert.equal(h.interpreter.status().state, 'running');
    assert.equal(h.interpreter.status().generations[0].pid, 500);
  });

  it('an exit during readiness: the late ready is ignored, and the exit decides', async () => {
    const h = harness({ settings: { ...SETTINGS, restart: 'never' } });
    const child = h.child(1);
    child.report({ type: 'spawned', gen: 1, pid: 500 });
    child.report(exit(1, 3));
    child.report({ type: 'ready', gen: 1, how: 'accepting on an inherited socket' });
    assert.equal(await h.interpreter.done, 3);
    assert.deepEqual(h.calls, ['close'], 'never reported ready');
    assert.deepEqual(h.kills, [{ pid: 500, signal: 'SIGKILL', group: true }], 'what it left in its group');
    assert.equal(h.clock.pending(), 0, 'no timer left behind');
  });

  it('a signal during a spawn reaches the new child even before its spawned event', () => {
    const h = harness();
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.child(1).report({ type: 'ready', gen: 1, how: 'READY=1' });
    // SIGTERM arrives from inside the spawn of generation 2 (before its pid is reported).
    h.onLaunch((child) => {
      if (child.gen === 2) h.interpreter.signal('SIGTERM');
    });
    h.interpreter.signal('SIGHUP');
    assert.deepEqual(
      h.kills.map((k) => [k.pid, k.signal]),
      [
        [500, 'SIGTERM'],
        [501, 'SIGTERM'],
      ],
      'once the spawn step is done, the serving one and the starting one (pid 501, known from the spawn) get it',
    );
    assert.equal(h.interpreter.status().state, 'draining');
  });

  it('a timer that fires after a stop changes nothing', async () => {
    const h = harness();
    const child = h.child(1);
    child.report({ type: 'spawned', gen: 1, pid: 500 });
    child.report({ type: 'ready', gen: 1, how: 'READY=1' });
    h.interpreter.signal('SIGTERM');
    child.report(exit(1, 0));
    assert.equal(await h.interpreter.done, 0);
    const before = h.lines.length;
    h.clock.advance(120_000);
    assert.equal(h.lines.length, before, 'the deadline and ready timers were cancelled');
    // Even a callback that was due and slipped through its cancel does not dispatch.
    h.interpreter.dispatch({ type: 'worker-event', worker: 0, event: { type: 'drain-deadline', gen: 1 } });
    assert.deepEqual(
      h.kills.filter((k) => k.signal === 'SIGKILL' && k.pid === 500).length,
      1,
      'only the clean-up after its exit',
    );
  });

  it('a crash waits out the backoff on the clock, then starts the next generation', () => {
    const h = harness({ settings: { ...SETTINGS, restart: 'always' } });
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.child(1).report({ type: 'ready', gen: 1, how: 'READY=1' });
    h.child(1).report(exit(1, 7));
    assert.equal(h.interpreter.status().state, 'backoff');
    h.clock.advance(99);
    assert.equal(h.launched.length, 1);
    h.clock.advance(1);
    assert.equal(h.launched.length, 2);
    assert.equal(h.interpreter.status().state, 'recovering');
  });

  it('the lines show the state they happen in: a transition line the state it leads to', () => {
    const h = harness({ settings: { ...SETTINGS, restart: 'never' } });
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.child(1).report({ type: 'ready', gen: 1, how: 'READY=1' });
    h.child(1).report(exit(1, 7));
    const [exitLine] = h.said(/^generation 1 exited/);
    assert.equal(exitLine.state, 'running');
    assert.equal(h.said(/^running -> draining/)[0].state, 'draining');
    assert.equal(h.said(/^draining -> stopped/)[0].state, 'stopped');
  });

  it('a reload is answered once the old generation stopped accepting (or after 1 s)', async () => {
    // The old child (pid 500) goes on accepting for 30 ms after its stop signal.
    const h = harness({ accepting: (pid, now) => pid === 500 && now < 30 });
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.child(1).report({ type: 'ready', gen: 1, how: 'READY=1' });
    let answer;
    h.interpreter.reload().then((a) => {
      answer = a;
    });
    h.child(2).report({ type: 'spawned', gen: 2, pid: 501 });
    h.child(2).report({ type: 'ready', gen: 2, how: 'READY=1' });
    await flush();
    assert.equal(answer, undefined, 'not while the old one accepts');
    h.clock.advance(30);
    await flush();
    assert.deepEqual(answer, { ok: true, generation: 2, pid: 501 });
    assert.deepEqual(h.calls, ['started after 1 ready lines', 'reopen']);
  });

  it('a not-ready warning names what the child waits in', () => {
    const h = harness();
    h.child(1).report({ type: 'spawned', gen: 1, pid: 500 });
    h.clock.advance(5000);
    assert.deepEqual(
      h.said(/not ready/).map((l) => l.message),
      ['generation 1 not ready after 5 s: pid 500 waits in poll'],
    );
    assert.match(h.interpreter.status().generations[0].waiting, /waits in poll/);
  });

  it('with workers, lines carry worker=i and the status line counts them', () => {
    const h = harness({ workers: 2 });
    for (const w of [0, 1]) {
      h.child(1, w).report({ type: 'spawned', gen: 1, pid: 500 + w });
      h.child(1, w).report({ type: 'ready', gen: 1, how: 'READY=1' });
    }
    assert.deepEqual(
      h.said(/ready: READY=1/).map((l) => l.fields.worker),
      [0, 1],
    );
    h.interpreter.signal('SIGUSR1');
    const [status] = h.said(/^status$/);
    assert.equal(status.fields.workers, 2);
    assert.equal(status.fields.generations, 'w0:1:serving:pid=500:up=0s,w1:1:serving:pid=501:up=0s');
  });
});
