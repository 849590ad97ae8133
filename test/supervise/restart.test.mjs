// Hot restart (SIGHUP) and lame-duck drain (SIGTERM), with real load: not one request may fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { fixture, get, getJson, isAlive, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const RESTARTS = 5;

/** SIGHUP k times under keep-alive load; each time wait until the new generation is ready and the old one gone. */
async function restartUnderLoad(t, daemon, port, { restarts = RESTARTS, path = '/' } = {}) {
  const load = startLoad({ port, path, connections: 8 });
  t.after(() => load.stop());
  await sleep(300);
  for (let gen = 2; gen <= restarts + 1; gen++) {
    daemon.signal('SIGHUP');
    await daemon.waitFor(new RegExp(`generation ${gen} ready`), 15_000);
    await daemon.waitFor(new RegExp(`generation ${gen - 1} exited`), 20_000);
    await sleep(150);
  }
  const stats = await load.stop();
  return stats;
}

const assertNoFailures = (stats) =>
  assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify([...stats.errors])} (ok ${stats.ok})`);

test('(a) an app using tsdaemon/app: 5 hot restarts under keep-alive load, 0 failed requests', async (t) => {
  const daemon = startDaemon(t, ['--listen=web=127.0.0.1:0', '--', 'node', fixture('helper-app.js')]);
  const port = await daemon.port('web');
  await daemon.waitFor(/generation 1 ready/);
  const stats = await restartUnderLoad(t, daemon, port);
  assertNoFailures(stats);
  assert.ok(stats.ok > 100, `enough requests were made (${stats.ok})`);
  assert.ok(stats.pids.size >= RESTARTS, `served by ${stats.pids.size} generations`);
  assert.match(daemon.output, /generation 2 ready: READY=1 on the ready fd/);
});

test('(b) an unmodified app with a plain server.close() SIGTERM handler: 5 restarts, 0 failed requests', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const stats = await restartUnderLoad(t, daemon, port);
  assertNoFailures(stats);
  assert.ok(stats.pids.size >= RESTARTS);
});

test('(c) a python3 child, ready by accept detection: 5 restarts under load, 0 failed requests', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', fixture('py-server.py')]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready: accepting on an inherited socket/);
  const stats = await restartUnderLoad(t, daemon, port);
  assertNoFailures(stats);
  assert.ok(stats.pids.size >= RESTARTS);
});

test('(c) a python3 child that writes READY=1 to $TSDAEMON_READY_FD (--ready=fd)', async (t) => {
  const daemon = startDaemon(t, ['--ready=fd', '--listen=127.0.0.1:0', '--', fixture('py-server.py')], {
    env: { READY_VIA_FD: '1' },
  });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready: READY=1 on the ready fd/);
  const stats = await restartUnderLoad(t, daemon, port, { restarts: 2 });
  assertNoFailures(stats);
});

test('a new generation that crashes at start is rolled back: the old one keeps serving, the error is logged', async (t) => {
  const script = `[ "$TSDAEMON_GENERATION" -gt 1 ] && { echo crashing; exit 3; }; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  const port = await daemon.port();
  const pid = await daemon.childPid();
  daemon.signal('SIGHUP');
  await daemon.waitFor(
    /restart failed: generation 2 exited before it was ready \(code 3\); the old generation keeps serving/,
  );
  assert.equal((await getJson(port, '/')).pid, pid);
  assert.match(daemon.output, /error +\[\d+ \w+\] restarting -> running \(restart failed/);
  daemon.signal('SIGUSR1');
  await daemon.waitFor(/status .*lastFailure="generation 2 exited before it was ready/);
});

test('a new generation that is never ready is killed at --ready-timeout; the old one keeps serving', async (t) => {
  const script = `[ "$TSDAEMON_GENERATION" -gt 1 ] && exec sleep 60; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--ready-timeout=1s', '--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  const port = await daemon.port();
  const pid = await daemon.childPid();
  daemon.signal('SIGHUP');
  await daemon.waitFor(
    /restart failed: generation 2 was not ready within 1000 ms; the old generation keeps serving/,
  );
  await daemon.waitFor(/generation 2 exited \(signal SIGKILL\)/);
  assert.equal((await getJson(port, '/')).pid, pid);
});

test('a child that ignores SIGTERM is SIGKILLed at the lame-duck deadline; exit 69', async (t) => {
  const daemon = startDaemon(t, [
    '--lame-duck=1s',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('ignore-term.js'),
  ]);
  await daemon.port();
  const pid = await daemon.childPid();
  const started = Date.now();
  daemon.signal('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 69);
  assert.ok(Date.now() - started >= 900, 'it waited for the lame duck');
  assert.match(daemon.output, /still running after 1000 ms: SIGKILL/);
  assert.equal(isAlive(pid), false);
});

test('a 2 s request in flight survives a hot restart and then a SIGTERM drain', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  const port = await daemon.port();
  const first = await daemon.childPid();
  const slow = getJson(port, '/slow?ms=2000', { timeoutMs: 10_000 });
  await sleep(200);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/generation 2 ready/);
  assert.equal((await slow).pid, first, 'answered by the old generation while it drained');
  await daemon.waitFor(/generation 1 exited \(code 0\)/);

  const second = await daemon.childPid(2);
  const slow2 = getJson(port, '/slow?ms=2000', { timeoutMs: 10_000 });
  await sleep(200);
  daemon.signal('SIGTERM');
  assert.equal((await slow2).pid, second);
  assert.equal((await daemon.exited).code, 0);
});

test('SIGHUPs during a restart coalesce into exactly one more restart', async (t) => {
  // New generations take a second to start, so every SIGHUP lands during the first restart.
  const script = `[ "$TSDAEMON_GENERATION" -gt 1 ] && sleep 1; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/running -> restarting/);
  // Two more while the restart runs: they coalesce into exactly one more restart.
  daemon.signal('SIGHUP');
  await daemon.waitFor(/SIGHUP during the restart: one more restart follows/);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/generation 3 ready/);
  await daemon.waitFor(/generation 2 exited/);
  await sleep(500);
  assert.doesNotMatch(daemon.output, /generation 4/);
  assert.equal((await getJson(port, '/')).env.TSDAEMON_GENERATION, '3');
});

test('SIGTERM during a restart stops both generations and exits 0', async (t) => {
  const script = `[ "$TSDAEMON_GENERATION" -gt 1 ] && sleep 1; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  await daemon.port();
  await daemon.childPid();
  daemon.signal('SIGHUP');
  await daemon.waitFor(/running -> restarting/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.match(daemon.output, /restarting -> draining \(SIGTERM\)/);
});

test('a second SIGTERM during the drain kills at once and exits 143', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('ignore-term.js')]);
  await daemon.port();
  const pid = await daemon.childPid();
  daemon.signal('SIGTERM');
  await daemon.waitFor(/ignore-term: got SIGTERM/);
  const started = Date.now();
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 143);
  assert.ok(Date.now() - started < 5000, 'well before the 15 s lame duck');
  assert.equal(isAlive(pid), false);
});

test('--lame-duck-delay keeps serving before the children are told to stop', async (t) => {
  const daemon = startDaemon(t, [
    '--lame-duck-delay=1s',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  const port = await daemon.port();
  const pid = await daemon.childPid();
  daemon.signal('SIGTERM');
  await sleep(400);
  assert.equal((await getJson(port, '/')).pid, pid, 'still served during the delay');
  assert.equal((await daemon.exited).code, 0);
  assert.match(daemon.output, /lame-duck delay over/);
  void get;
});
