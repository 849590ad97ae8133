// tsdaemon as PID 1 of a pid namespace (as in a container): SIGTERM drains, the exit code propagates, and
// it says that it does not reap orphans.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { descendants, fixture, sleep, startDaemon } from './helpers/tsdaemon.mjs';

const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc'];
const canUnshare = process.getuid() === 0 && existsSync('/usr/bin/unshare');

/** tsdaemon's pid as the host sees it: unshare's child. */
async function tsdaemonPid(daemon) {
  for (let i = 0; i < 100; i++) {
    const [pid] = descendants(daemon.pid);
    if (pid) return pid;
    await sleep(20);
  }
  throw new Error('no tsdaemon below unshare');
}

test('as PID 1: the child exit code propagates, with a warning about orphans', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  const daemon = startDaemon(
    t,
    ['--restart=never', '--ready=timer:50ms', '--', 'sh', '-c', 'sleep 0.2; exit 7'],
    { prefix: UNSHARE },
  );
  assert.equal((await daemon.exited).code, 7);
  assert.match(daemon.stderr, /\[1 starting\] running as PID 1: orphaned zombie processes are not reaped/);
});

test('as PID 1: SIGTERM (docker stop) drains and exits 0', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    prefix: UNSHARE,
  });
  await daemon.waitFor(/generation 1 ready/);
  process.kill(await tsdaemonPid(daemon), 'SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.match(daemon.stderr, /running -> draining \(SIGTERM\)/);
});

test('as PID 1: SIGUSR2 is refused (the container would end), and serving goes on', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    prefix: UNSHARE,
  });
  await daemon.waitFor(/generation 1 ready/);
  const pid = await tsdaemonPid(daemon);
  process.kill(pid, 'SIGUSR2');
  await daemon.waitFor(/SIGUSR2 ignored: as PID 1/);
  process.kill(pid, 'SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});
