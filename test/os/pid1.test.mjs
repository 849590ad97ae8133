// tsdaemon as PID 1 of a pid namespace (as in a container): SIGTERM drains, the exit code propagates, and
// orphans that the app leaves behind are reaped instead of piling up as zombies.
import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import {
  descendants,
  fixture,
  get,
  procStat,
  ROOT,
  sleep,
  startDaemon,
  tempDir,
} from '../helpers/tsdaemon.mjs';

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

/** Zombie processes whose parent is pid (read from the host's /proc). */
function zombieChildren(pid) {
  return descendants(pid).filter((child) => {
    const stat = procStat(child);
    return stat?.state === 'Z' && stat.ppid === pid;
  });
}

test('as PID 1: the child exit code propagates', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  const daemon = startDaemon(
    t,
    ['--restart=never', '--ready=timer:50ms', '--', 'sh', '-c', 'sleep 0.2; exit 7'],
    { prefix: UNSHARE },
  );
  assert.equal((await daemon.exited).code, 7);
  assert.doesNotMatch(daemon.stderr, /not reaped/);
});

test('as PID 1: orphans the app leaves behind are reaped, while the app and its restarts are not disturbed', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  // Each generation starts three background sleeps in subshells that exit at once: the sleeps are
  // orphaned, re-parented to PID 1 (tsdaemon), and end 100 ms later as zombies that only PID 1 can reap.
  const orphans = '(sleep 0.1 &); (sleep 0.1 &); (sleep 0.1 &); exec node "$0"';
  const daemon = startDaemon(
    t,
    ['--listen=127.0.0.1:0', '--log-level=debug', '--', 'sh', '-c', orphans, fixture('env-server.js')],
    { prefix: UNSHARE },
  );
  await daemon.waitFor(/generation 1 ready/);
  const pid = await tsdaemonPid(daemon);
  process.kill(pid, 'SIGHUP'); // libuv's own children (the generations) must still be seen to exit
  await daemon.waitFor(/generation 1 exited/);
  await daemon.waitFor(/generation 2 ready/);
  for (let i = 0; i < 100 && daemon.stderr.match(/reaped orphan pid/g)?.length !== 6; i++) await sleep(50);
  assert.equal(daemon.stderr.match(/reaped orphan pid \d+ \(exit 0\)/g)?.length, 6, daemon.stderr);
  assert.deepEqual(zombieChildren(pid), []);
  assert.equal((await get(await daemon.port())).status, 200);
  process.kill(pid, 'SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('as PID 1 without the native addon: one warning that zombies are not reaped, and it still serves', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  const copy = tempDir(t, 'tsdaemon-no-addon-');
  for (const part of ['bin', 'dist', 'package.json'])
    cpSync(`${ROOT}${part}`, `${copy}/${part}`, { recursive: true });
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    prefix: UNSHARE,
    bin: `${copy}/bin/tsdaemon`,
  });
  await daemon.waitFor(/generation 1 ready/);
  assert.match(
    daemon.stderr,
    /running as PID 1 but the native addon was not built .*: orphaned zombies are not reaped; put an init in front/,
  );
  assert.equal((await get(await daemon.port())).status, 200);
  process.kill(await tsdaemonPid(daemon), 'SIGTERM');
  assert.equal((await daemon.exited).code, 0);
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

test('as PID 1: an app that leaves orphans all the time (an orphan storm): its zombies are reaped as they come, none pile up', {
  skip: !canUnshare && 'needs root and unshare',
}, async (t) => {
  // Every 20 ms a subshell starts a sleep and exits: the sleep is orphaned to PID 1 and dies 10 ms later.
  const storm = 'while :; do (sleep 0.01 &); sleep 0.02; done';
  const daemon = startDaemon(t, ['--ready=timer:50ms', '--', 'sh', '-c', storm], { prefix: UNSHARE });
  await daemon.waitFor(/generation 1 ready/);
  const pid = await tsdaemonPid(daemon);
  let most = 0;
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    most = Math.max(most, zombieChildren(pid).length);
    await sleep(5);
  }
  // Reaped when SIGCHLD comes, so at most the few that die while the event loop is busy (a collection, a
  // loaded machine: up to 3 seen); a sweep every 500 ms let about 30 pile up. bench/zombies.mjs measures it.
  assert.ok(most <= 8, `up to ${most} zombies at once`);
});
