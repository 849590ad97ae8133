// describeWaiting(): what a child's process group waits in, for the "not ready" warning and `status`, and
// why tsdaemon cannot see it when it cannot: io_uring, a child of another uid, /proc mounted with hidepid,
// a process that is not dumpable. Real processes (test/fixtures/wait-server.c) on a real listening socket.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { describeWaiting } from '../../dist/os/readiness/waiting.js';
import { compile, withCc } from '../helpers/cc.mjs';
import { gone, sleep, worldReadableBin } from '../helpers/tsdaemon.mjs';

const asRoot = { skip: process.getuid() !== 0 && 'needs root' };

const buildServer = (t, mode = 0o755) => compile(t, 'wait-server.c', { mode });

/** A listening socket for the children (nothing connects to it), and its inode. */
async function listener(t) {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const fd = server._handle.fd;
  return { fd, inode: Number(/\d+/.exec(readlinkSync(`/proc/self/fd/${fd}`))[0]) };
}

/** Spawn command in its own process group with the listener as fd 3; killed (the group) after the test. */
function spawnGroup(t, command, args, fd, options = {}) {
  const child = spawn(command, args, {
    stdio: ['ignore', 'ignore', 'inherit', fd],
    detached: true,
    ...options,
  });
  t.after(async () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    await gone([child.pid], 1000);
  });
  return child.pid;
}

/**
 * Waits until what describeWaiting(pid, names) says matches expected (a string it contains, or a regexp):
 * a loaded machine may show a thread still starting up or running for a while. The last report.
 */
async function settled(pid, expected, names = []) {
  let report;
  for (let i = 0; i < 250; i++) {
    report = describeWaiting(pid, names);
    if (typeof expected === 'string' ? report.text.includes(expected) : expected.test(report.text)) break;
    await sleep(20);
  }
  return report;
}

test('describes each way of waiting, with the listener named', withCc, async (t) => {
  const bin = buildServer(t);
  const { fd, inode } = await listener(t);
  const names = new Map([[inode, 'web']]);
  const cases = [
    ['poll', /^pid \d+ in poll\(fd \d+, fd 3 \[listener web\]\)$/],
    ['ppoll', /^pid \d+ in ppoll\(fd \d+, fd 3 \[listener web\]\)$/],
    ['select', /^pid \d+ in select\(fd 3 \[listener web\], fd \d+\)$/],
    ['pselect6', /^pid \d+ in pselect6\(fd 3 \[listener web\], fd \d+\)$/],
    ['accept', /^pid \d+ in accept\(fd 3 \[listener web\]\)$/],
    ['epoll', /^pid \d+ in epoll_wait\(epoll fd \d+ watching fd 3 \[listener web\]\)$/],
    ['sleepy', /^pid \d+ in (clock_)?nanosleep$/],
  ].filter(([mode]) => process.arch === 'x64' || (mode !== 'poll' && mode !== 'select'));
  for (const [mode, expected] of cases) {
    const pid = spawnGroup(t, bin, [mode], fd);
    const report = await settled(pid, expected, names);
    assert.match(report.text, expected, `${mode}: ${report.text}`);
    assert.equal(report.reason, undefined, `${mode}: ${report.reason}`);
  }
});

test(
  'a process group: every member is described; a group without the socket gets the reason',
  withCc,
  async (t) => {
    const bin = buildServer(t);
    const { fd, inode } = await listener(t);
    const shell = spawnGroup(t, 'sh', ['-c', `${bin} poll & wait`], fd);
    await settled(shell, 'in poll');
    const report = describeWaiting(shell, [inode]);
    assert.match(
      report.text,
      new RegExp(
        `^pid ${shell} in (wait4|rt_sigsuspend); pid \\d+ in poll\\(fd \\d+, fd 3 \\[listener\\]\\)$`,
      ),
    );

    const closed = spawnGroup(t, 'sh', ['-c', 'exec 3>&-; exec sleep 30'], fd);
    await settled(closed, 'nanosleep');
    const none = describeWaiting(closed, [inode]);
    assert.match(none.reason, /no process of the group has an inherited socket open .*--ready=fd/);
    assert.match(none.text, /nanosleep; no process/);
  },
);

test('io_uring: says that its waits cannot be seen, and which --ready to use', withCc, async (t) => {
  const bin = buildServer(t);
  const { fd, inode } = await listener(t);
  const pid = spawnGroup(t, bin, ['io_uring'], fd);
  await settled(pid, 'io_uring_enter');
  const report = describeWaiting(pid, [inode]);
  assert.match(report.text, new RegExp(`^pid ${pid} in io_uring_enter; `));
  assert.match(
    report.reason,
    /waits in io_uring_enter, and what io_uring waits for is not visible in \/proc: use --ready=fd, --ready=ipc or --ready=timer:DURATION/,
  );
});

/** Runs describeWaiting(pid) as nobody from a world-readable copy of the build; prefix wraps the command. */
function describeAsNobody(t, pid, inode, prefix = []) {
  const cli = worldReadableBin(t);
  const dir = dirname(dirname(cli));
  writeFileSync(
    `${dir}/describe.mjs`,
    `import { describeWaiting } from './dist/os/readiness/waiting.js';
console.log(JSON.stringify(describeWaiting(${pid}, [${inode}])));`,
  );
  chmodSync(`${dir}/describe.mjs`, 0o644);
  const setpriv = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
  const [file, ...args] = [...prefix, ...setpriv, process.execPath, `${dir}/describe.mjs`];
  return JSON.parse(execFileSync(file, args, { encoding: 'utf8', cwd: '/tmp' }));
}

test('a child of another uid: the reason names both uids', { ...asRoot, ...withCc }, async (t) => {
  const bin = buildServer(t);
  const { fd, inode } = await listener(t);
  const pid = spawnGroup(t, bin, ['poll'], fd);
  const report = describeAsNobody(t, pid, inode);
  assert.deepEqual(report.processes, []);
  assert.match(
    report.reason,
    new RegExp(
      `^pid ${pid} runs as uid 0 and tsdaemon as uid 65534, so it cannot read what it waits in \\(EACCES on /proc/${pid}/fd\\): run the child as tsdaemon's --user, or use --ready=fd, --ready=ipc or --ready=timer:DURATION$`,
    ),
  );
});

test('a child of the same uid that is not dumpable (its program is not readable to it)', {
  ...asRoot,
  ...withCc,
}, async (t) => {
  const bin = buildServer(t, 0o711);
  const { fd, inode } = await listener(t);
  const pid = spawnGroup(t, bin, ['poll'], fd, { uid: 65534, gid: 65534 });
  const report = describeAsNobody(t, pid, inode);
  assert.match(
    report.reason,
    new RegExp(`^pid ${pid} is not dumpable .*EACCES on /proc/${pid}/fd.*--ready=fd`),
  );
});

const canUnshare = process.getuid() === 0 && existsSync('/usr/bin/unshare');
test('/proc mounted with hidepid: the reason says so', {
  skip: !canUnshare && 'needs root and unshare',
  ...withCc,
}, async (t) => {
  const bin = buildServer(t);
  const { fd, inode } = await listener(t);
  const pid = spawnGroup(t, bin, ['poll'], fd);
  // A mount namespace of its own, where /proc is mounted again with hidepid=2 (same pid namespace).
  const mount = [
    'unshare',
    '--mount',
    '--fork',
    'sh',
    '-c',
    'mount -t proc -o hidepid=2 proc /proc && exec "$@"',
    'sh',
  ];
  const report = describeAsNobody(t, pid, inode, mount);
  assert.match(
    report.reason,
    new RegExp(
      `^/proc is mounted with hidepid=(2|invisible), so tsdaemon \\(uid 65534\\) cannot see pid ${pid} of another user: .*--ready=fd`,
    ),
  );
});
