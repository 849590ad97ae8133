// --daemon: the foreground process returns only once the daemon's first child is ready (exit 0), or with
// the daemon's error and exit code; the daemon runs on in its own session.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  descendants,
  fixture,
  get,
  gone,
  isAlive,
  killTreeAfter,
  sleep,
  startDaemon,
  tempDir,
} from '../helpers/tsdaemon.mjs';

/** The daemon's pid from its pidfile (0 once the file is gone). */
const pidIn = (pidfile) => {
  try {
    return Number(readFileSync(pidfile, 'utf8').trim() || 0);
  } catch {
    return 0;
  }
};

test('--daemon: exit 0 once the first child is ready; the daemon serves in its own session and logs once', async (t) => {
  const dir = tempDir(t, 'tsdaemon-daemon-');
  const pidfile = `${dir}/app.pid`;
  const started = startDaemon(t, [
    '--daemon',
    `--pidfile=${pidfile}`,
    `--log-file=${dir}/app.log`,
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  killTreeAfter(t, () => pidIn(pidfile));
  assert.equal((await started.exited).code, 0);
  const pid = Number(readFileSync(pidfile, 'utf8'));
  assert.notEqual(pid, started.pid, 'the daemon is another process');
  assert.match(started.stderr, new RegExp(`running in the background as pid ${pid}`));
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(session), pid, 'the daemon leads its own session');

  const log = readFileSync(`${dir}/app.log`, 'utf8');
  const port = Number(/listening tcp 127\.0\.0\.1:(\d+)/.exec(log)[1]);
  assert.match(log, /generation 1 ready/, 'ready before the foreground returned');
  assert.equal(log.match(/starting \(start\)/g).length, 1, 'each line once, not twice');
  assert.match(JSON.parse((await get(port)).body).url, /^\//);
  assert.match(log, /env-server listening/, "the child's output goes to the log file");

  process.kill(pid, 'SIGTERM');
  await gone([pid], 2000);
  assert.equal(isAlive(pid), false);
  assert.equal(existsSync(pidfile), false, 'pidfile removed');
});

test('--daemon failures come back to the foreground: its exit code, its message, nothing left running', async (t) => {
  const dir = tempDir(t, 'tsdaemon-daemon-');
  const blocker = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sleep', '30']);
  const port = await blocker.port();
  const inUse = startDaemon(t, [
    '--daemon',
    `--pidfile=${dir}/a.pid`,
    `--listen=127.0.0.1:${port}`,
    '--',
    'sleep',
    '30',
  ]);
  assert.equal((await inUse.exited).code, 65);
  assert.match(inUse.stderr, /tsdaemon: cannot bind --listen=127\.0\.0\.1:\d+: EADDRINUSE/);
  assert.equal(existsSync(`${dir}/a.pid`), false);

  const notReady = startDaemon(t, [
    '--daemon',
    `--pidfile=${dir}/b.pid`,
    '--ready=fd',
    '--ready-timeout=500ms',
    '--',
    'sleep',
    '30',
  ]);
  assert.equal((await notReady.exited).code, 68);
  assert.match(notReady.stderr, /tsdaemon: generation 1 was not ready within 500 ms/);
  await sleep(300);
  assert.equal(existsSync(`${dir}/b.pid`), false, 'the daemon cleaned up and is gone');
  assert.deepEqual(descendants(notReady.pid), []);
});

test('--daemon with --listen=systemd is a usage error', async (t) => {
  const daemon = startDaemon(t, ['--daemon', '--listen=systemd', '--', 'true']);
  assert.equal((await daemon.exited).code, 64);
  assert.match(daemon.stderr, /--daemon cannot take systemd sockets/);
});
