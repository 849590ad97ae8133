// The pool of workers, pure: signals and control commands in, worker events and exits out, through the
// same step() the runtime drives. No process, no timer. (Each cell is checked against docs/states.md in
// states.test.mjs; here: stories across cells, the two --workers bugs among them.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialSupervisor, serviceState, step } from '../../dist/core/supervisor.js';
import { exited, ready, SETTINGS, spawned } from '../helpers/cells.mjs';

const inWorker = (worker, event) => ({ type: 'worker-event', worker, event });

/** Feed inputs one by one; collect every effect that left the core. */
function run(inputs, model = initialSupervisor(SETTINGS)) {
  let effects = [];
  let last = [];
  for (const input of inputs) {
    const next = step(model, input);
    model = next.model;
    last = next.effects;
    effects = [...effects, ...next.effects];
  }
  return { model, effects, last };
}

/** n workers, every one with generation 1 serving. */
function ready_(n) {
  const inputs = [{ type: 'start', workers: n }];
  for (let w = 0; w < n; w++) inputs.push(inWorker(w, spawned(1)), inWorker(w, ready(1, 200)));
  return run(inputs);
}

const ofType = (effects, type) => effects.filter((e) => e.type === type);
const kills = (effects) => ofType(effects, 'kill');
const spawns = (effects) => ofType(effects, 'spawn').map((e) => `w${e.worker}:${e.gen}`);
const answers = (effects) => ofType(effects, 'answer-reload');
const worker = (model, index) => model.workers.find((w) => w.index === index);

describe('SIGTTIN / SIGTTOU', () => {
  it('a second SIGTTOU drains the next worker, not the one already draining', () => {
    const { model } = ready_(3);
    const first = run([{ type: 'remove-worker' }], model);
    assert.deepEqual(kills(first.effects), [
      { type: 'kill', worker: 2, gen: 1, signal: 'SIGTERM', group: false },
    ]);
    const second = run([{ type: 'remove-worker' }], first.model);
    assert.deepEqual(
      kills(second.effects),
      [{ type: 'kill', worker: 1, gen: 1, signal: 'SIGTERM', group: false }],
      'worker 2 is left to its drain: no second stop, no SIGKILL',
    );
    assert.ok(
      ofType(second.effects, 'log').some(
        (l) => l.message === 'SIGTTOU: one worker fewer (1), draining worker 1',
      ),
    );
    assert.equal(worker(second.model, 2).model.phase, 'draining');
    const third = run([{ type: 'remove-worker' }], second.model);
    assert.deepEqual(kills(third.effects), [], 'the last worker stays');
  });

  it('SIGTTIN starts the next index; the new worker counts for the first start', () => {
    const { model } = run([{ type: 'start', workers: 1 }, inWorker(0, spawned(1))]);
    const added = run([{ type: 'add-worker' }, inWorker(0, ready(1))], model);
    assert.deepEqual(spawns(added.effects), ['w1:1']);
    assert.equal(added.model.phase, 'starting', 'worker 1 is not ready yet');
    const both = run([inWorker(1, spawned(1)), inWorker(1, ready(1))], added.model);
    assert.equal(both.model.phase, 'running');
    assert.deepEqual(ofType(both.effects, 'started'), [{ type: 'started' }]);
  });

  it('a retiring worker keeps the sockets open for the others; the final stop closes them once', () => {
    const { model } = ready_(2);
    const retired = run([{ type: 'remove-worker' }, inWorker(1, exited(1, 143))], model);
    assert.deepEqual(ofType(retired.effects, 'close-listeners'), []);
    assert.equal(retired.model.workers.length, 1);
    const stopped = run([{ type: 'stop', signal: 'SIGTERM' }], retired.model);
    assert.equal(ofType(stopped.effects, 'close-listeners').length, 1);
  });
});

describe('rolling reload', () => {
  it('one worker after the other: worker 1 starts its successor only once worker 0’s is ready', () => {
    const { model } = ready_(2);
    let step1 = run([{ type: 'reload', why: 'SIGHUP', id: 1 }], model);
    assert.deepEqual(spawns(step1.effects), ['w0:2']);
    step1 = run([inWorker(0, spawned(2)), inWorker(0, ready(2))], step1.model);
    assert.deepEqual(spawns(step1.effects), ['w1:2']);
    assert.deepEqual(kills(step1.effects), [
      { type: 'kill', worker: 0, gen: 1, signal: 'SIGTERM', group: false },
    ]);
    const done = run([inWorker(1, spawned(2)), inWorker(1, ready(2))], step1.model);
    assert.deepEqual(answers(done.effects), [
      { type: 'answer-reload', id: 1, outcome: { ok: true, generation: 2, pid: 1002 } },
    ]);
    assert.equal(done.model.phase, 'running');
  });

  it('a reload while a worker retires replaces the others and succeeds', () => {
    const { model } = ready_(3);
    const retiring = run([{ type: 'remove-worker' }], model).model;
    const inputs = [{ type: 'reload', why: 'tsdaemon reload', id: 5 }];
    for (const w of [0, 1]) inputs.push(inWorker(w, spawned(2)), inWorker(w, ready(2)));
    const { effects, model: after } = run(inputs, retiring);
    assert.deepEqual(spawns(effects), ['w0:2', 'w1:2']);
    assert.deepEqual(answers(effects), [
      { type: 'answer-reload', id: 5, outcome: { ok: true, generation: 2, pid: 1002 } },
    ]);
    assert.equal(after.phase, 'running');
  });

  it('the worker reloading now may retire: the round goes on without it', () => {
    const { model } = ready_(2);
    const atLast = run(
      [{ type: 'reload', why: 'SIGHUP', id: 1 }, inWorker(0, spawned(2)), inWorker(0, ready(2))],
      model,
    ).model;
    const retired = run([{ type: 'remove-worker' }], atLast);
    assert.deepEqual(answers(retired.effects), [
      { type: 'answer-reload', id: 1, outcome: { ok: true, generation: 2, pid: 1002 } },
    ]);
  });

  it('stops at the first worker whose successor fails; the later workers keep their generation', () => {
    const { model } = ready_(3);
    const failed = run(
      [{ type: 'reload', why: 'SIGHUP', id: 1 }, inWorker(0, spawned(2)), inWorker(0, exited(2, 3))],
      model,
    );
    assert.deepEqual(answers(failed.effects), [
      {
        type: 'answer-reload',
        id: 1,
        outcome: { ok: false, error: 'generation 2 exited before it was ready (code 3)' },
      },
    ]);
    assert.deepEqual(spawns(failed.effects), ['w0:2']);
    assert.ok(ofType(failed.effects, 'log').some((l) => l.message.startsWith('reload stopped at worker 0')));
    assert.equal(failed.model.phase, 'running');
  });

  it('reloads during a round coalesce into exactly one more round; every caller hears at its end', () => {
    const { model } = run([{ type: 'start', workers: 1 }, inWorker(0, spawned(1)), inWorker(0, ready(1))]);
    const inputs = [
      { type: 'reload', why: 'SIGHUP', id: 1 },
      inWorker(0, spawned(2)),
      { type: 'reload', why: 'SIGHUP', id: 2 },
      { type: 'reload', why: 'SIGHUP' },
      inWorker(0, ready(2)),
      inWorker(0, spawned(3)),
      inWorker(0, ready(3)),
    ];
    const { effects } = run(inputs, model);
    assert.deepEqual(spawns(effects), ['w0:2', 'w0:3']);
    assert.deepEqual(
      answers(effects).map((a) => [a.id, a.outcome.generation]),
      [
        [1, 2],
        [2, 3],
      ],
    );
    assert.ok(
      ofType(effects, 'log').some((l) => l.message === 'running -> restarting (SIGHUP during the restart)'),
    );
  });

  it('one worker takes the same path: a round of one', () => {
    const { model } = run([{ type: 'start', workers: 1 }, inWorker(0, spawned(1)), inWorker(0, ready(1))]);
    const reloading = run([{ type: 'reload', why: 'SIGHUP' }], model);
    assert.equal(reloading.model.phase, 'reloading');
    assert.equal(serviceState(reloading.model), 'restarting');
    assert.deepEqual(ofType(reloading.effects, 'reopen-log'), [{ type: 'reopen-log' }]);
  });
});

describe('the first start', () => {
  it('a reload during it is answered at once (queued) and runs once every worker is ready', () => {
    const { model } = run([{ type: 'start', workers: 1 }, { ...inWorker(0, spawned(1, 1000)) }]);
    const queued = run([{ type: 'reload', why: 'tsdaemon reload', id: 3, at: 4200 }], model);
    assert.deepEqual(answers(queued.effects), [
      {
        type: 'answer-reload',
        id: 3,
        outcome: {
          ok: false,
          queued: true,
          error:
            'generation 1 is still starting (3 s so far); the reload is queued and runs once it is ready',
        },
      },
    ]);
    assert.deepEqual(spawns(queued.effects), []);
    const ready1 = run([inWorker(0, ready(1))], queued.model);
    assert.deepEqual(spawns(ready1.effects), ['w0:2']);
    assert.ok(
      ofType(ready1.effects, 'log').some(
        (l) => l.message === 'running -> restarting (tsdaemon reload during the start)',
      ),
    );
    assert.deepEqual(ofType(ready1.effects, 'started'), [{ type: 'started' }]);
  });
});

describe('the end', () => {
  it('a worker that ends on its own stops the others; tsdaemon exits with its status', () => {
    const settings = { ...SETTINGS, restart: 'never' };
    const inputs = [{ type: 'start', workers: 2 }];
    for (const w of [0, 1]) inputs.push(inWorker(w, spawned(1)), inWorker(w, ready(1)));
    const started = run(inputs, initialSupervisor(settings));
    const ended = run([inWorker(1, exited(1, 7))], started.model);
    assert.equal(ended.model.phase, 'stopping');
    assert.deepEqual(kills(ended.effects).at(-1), {
      type: 'kill',
      worker: 0,
      gen: 1,
      signal: 'SIGTERM',
      group: false,
    });
    const gone = run([inWorker(0, exited(1, 143))], ended.model);
    assert.deepEqual(ofType(gone.effects, 'exit'), [{ type: 'exit', code: 7 }]);
  });

  it('a second SIGTERM kills every worker at once, a retiring one too; exit 143', () => {
    const { model } = ready_(2);
    const inputs = [
      { type: 'remove-worker' },
      { type: 'stop', signal: 'SIGTERM' },
      { type: 'stop', signal: 'SIGTERM' },
    ];
    const { model: after, last } = run(inputs, model);
    assert.deepEqual(
      kills(last).map((k) => [k.worker, k.signal, k.group]),
      [
        [0, 'SIGKILL', true],
        [1, 'SIGKILL', true],
      ],
    );
    const { effects } = run([inWorker(0, exited(1, 137)), inWorker(1, exited(1, 137))], after);
    assert.deepEqual(ofType(effects, 'exit'), [{ type: 'exit', code: 143 }]);
  });
});

describe('sd_notify follows the service state', () => {
  it('READY=1 when running, RELOADING=1 at a restart, READY=1 after it, STOPPING=1 at the drain', () => {
    const inputs = [
      { type: 'start', workers: 1 },
      inWorker(0, spawned(1)),
      inWorker(0, ready(1)),
      { type: 'reload', why: 'SIGHUP' },
      inWorker(0, spawned(2)),
      inWorker(0, ready(2)),
      { type: 'stop', signal: 'SIGTERM' },
    ];
    const { effects } = run(inputs);
    assert.deepEqual(
      ofType(effects, 'notify').map((n) => n.message),
      ['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'],
    );
  });
});
