// The app-side helper (tsdaemon/app): inherited sockets by name under tsdaemon and under plain systemd
// socket activation, and a normal port when not supervised.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Daemon, fixture, freePort, getJson, startDaemon, tempDir } from './helpers/tsdaemon.mjs';

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
