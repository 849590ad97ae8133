// The app-side helper (tsdaemon/app): inherited sockets by name under tsdaemon and under plain systemd
// socket activation, and a normal port when not supervised; the drain hook (onDrain) under the preload.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Daemon, fixture, freePort, getJson, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

test('under tsdaemon: servers on the inherited sockets by name', async (t) => {
  const sock = `${tempDir(t)}/admin.sock`;
  const daemon = startDaemon(t, [
    '--listen=web=127.0.0.1:0',
    `--listen=admin=unix:${sock}`,
    '--no-preload',
    '--',
    'node',
    fixture('helper-app.js'),
  ]);
  const port = await daemon.port('web');
  await daemon.waitFor(/helper-app listening/);
  assert.deepEqual(await getJson(port, '/'), {
    which: 'web',
    pid: await daemon.childPid(),
    supervised: true,
  });
  assert.equal((await getJson(sock, '/')).which, 'admin');
});

test('unsupervised: falls back to a normal listen on the given port', async (t) => {
  const child = spawn(process.execPath, [fixture('helper-app.js'), '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const line = await new Promise((resolve) => child.stdout.once('data', (chunk) => resolve(String(chunk))));
  const { port } = JSON.parse(/listening (.*)/.exec(line)[1]);
  assert.deepEqual(await getJson(port, '/'), { which: 'web', pid: child.pid, supervised: false });
});

const ACTIVATE = '/usr/bin/systemd-socket-activate';
test('under plain systemd socket activation (no tsdaemon): the socket named web', {
  skip: !existsSync(ACTIVATE) && 'no systemd-socket-activate',
}, async (t) => {
  const port = await freePort();
  const app = new Daemon([], {
    raw: true,
    prefix: [ACTIVATE, '-l', `127.0.0.1:${port}`, '--fdname=web', process.execPath, fixture('helper-app.js')],
  });
  t.after(() => app.cleanup());
  await app.waitFor(/Listening on/);
  const answer = await getJson(port, '/', { timeoutMs: 10_000 });
  assert.equal(answer.which, 'web');
  assert.equal(answer.supervised, true);
});

test('the drain hook: told the lame-duck deadline and close time; the preload waits for its promise, then exits 0', async (t) => {
  const daemon = startDaemon(t, [
    '--lame-duck=4s',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('drain-hook.js'),
  ]);
  await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.match(daemon.output, /drain-hook: told \{"lameDuckMs":4000,"marginMs":400,"same":true\}/);
  assert.match(daemon.output, /drain-hook: done/);
  assert.doesNotMatch(daemon.output, /unsubscribed hook ran/);
});

test('a drain hook whose promise rejects: the error is printed and the app exits 1', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('drain-hook.js')], {
    env: { DRAIN_HOOK_FAIL: '1' },
  });
  await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 1);
  assert.match(daemon.output, /an onDrain hook failed: Error: drain-hook: cleanup failed/);
});
