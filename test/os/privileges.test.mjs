// --user and --pidfile, as root (CI runs as root): the supervisor and its children end up as the user with
// that user's groups and none of root's, root cannot be regained, and the pidfile behaves at /run-like paths.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { get, isAlive, startDaemon, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const asRoot = { skip: process.getuid() !== 0 && 'needs root' };
const EXIT_PRIVILEGES = 66;
const EXIT_PIDFILE = 67;

// A child that serves its own identity: uid, gid, groups, and whether setuid(0) works.
const IDENTITY_APP = `import http from 'node:http';
http.createServer((_q, r) => {
  let regained = false;
  try { process.setuid(0); regained = true; } catch {}
  r.end(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), regained, home: process.env.HOME, user: process.env.USER }));
}).listen(Number(process.env.PORT));`;

const statusOf = (pid) =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .filter((line) => /^(Uid|Gid|Groups):/.test(line))
      .map((line) => line.split(':\t'))
      .map(([key, value]) => [key, value.trim().split(/\s+/).map(Number)]),
  );

test(
  '--user=nobody: port 81 bound as root, then supervisor and child run as nobody with only its groups',
  asRoot,
  async (t) => {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    // setpriv gives root two supplementary groups (adm, dialout) that must not survive the drop.
    const daemon = startDaemon(
      t,
      ['--listen=127.0.0.1:81', '--user=nobody', '--', 'node', '--input-type=module', '-e', IDENTITY_APP],
      { bin: worldReadableBin(t), cwd: '/tmp', prefix: ['setpriv', '--groups=4,20', '--'] },
    );
    await daemon.waitFor(/running as nobody:nogroup/);
    const childPid = await daemon.childPid();
    const answer = JSON.parse((await get(81)).body);
    assert.equal(answer.uid, 65534);
    assert.equal(answer.gid, 65534);
    assert.deepEqual(answer.groups, [65534], "root's groups are gone");
    assert.equal(answer.regained, false, 'setuid(0) fails in the child');
    assert.equal(answer.user, 'nobody');
    for (const pid of [daemon.pid, childPid]) {
      const status = statusOf(pid);
      assert.deepEqual(status.Uid, [65534, 65534, 65534, 65534], `Uid of ${pid}`);
      assert.deepEqual(status.Gid, [65534, 65534, 65534, 65534], `Gid of ${pid}`);
      assert.deepEqual(status.Groups, [65534], `Groups of ${pid}`);
    }
    assert.ok(start > 81, 'port 81 really needed root');
  },
);

test('--user with numbers (uid:gid) works without a passwd entry', asRoot, async (t) => {
  const daemon = startDaemon(
    t,
    ['--listen=127.0.0.1:0', '--user=4242:4343', '--', 'node', '--input-type=module', '-e', IDENTITY_APP],
    {
      bin: worldReadableBin(t),
      cwd: '/tmp',
    },
  );
  const port = await daemon.port();
  const answer = JSON.parse((await get(port)).body);
  assert.deepEqual([answer.uid, answer.gid, answer.groups], [4242, 4343, [4343]]);
});

test('--user errors: malformed, unknown user, unknown group, and not root', async (t) => {
  const malformed = startDaemon(t, ['--user=www-data:', '--', 'true']);
  assert.equal((await malformed.exited).code, 64);
  assert.match(malformed.stderr, /--user 'www-data:': expected USER or USER:GROUP/);
  const unknown = startDaemon(t, ['--user=no-such-user-xyz', '--', 'true']);
  assert.equal((await unknown.exited).code, EXIT_PRIVILEGES);
  assert.match(unknown.stderr, /--user 'no-such-user-xyz': no user 'no-such-user-xyz' on this machine/);
  const group = startDaemon(t, ['--user=nobody:no-such-group-xyz', '--', 'true']);
  assert.equal((await group.exited).code, EXIT_PRIVILEGES);
  assert.match(group.stderr, /no group 'no-such-group-xyz'/);
  if (process.getuid() !== 0) return;
  const notRoot = startDaemon(t, ['--listen=127.0.0.1:0', '--user=daemon', '--', 'true'], {
    bin: worldReadableBin(t),
    cwd: '/tmp',
    prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
  });
  assert.equal((await notRoot.exited).code, EXIT_PRIVILEGES);
  assert.match(notRoot.stderr, /only root can switch users \(tsdaemon runs as uid 65534\)/);
  assert.doesNotMatch(notRoot.stderr, /listening/, 'refused before anything was bound');
});

test('root without --user: a warning that the children run as root', asRoot, async (t) => {
  const daemon = startDaemon(t, ['--', 'true']);
  await daemon.exited;
  assert.match(daemon.stderr, /warn +\[\d+ starting\] the children run as root; add --user=NAME/);
});

const pidfileDir = (t) => {
  const dir = tempDir(t, 'tsdaemon-pid-');
  chmodSync(dir, 0o755); // root-owned, not writable by the dropped user: like /run
  return dir;
};

test(
  '--pidfile holds the supervisor pid, is root-owned 0644 with --user, and is emptied or removed on exit',
  asRoot,
  async (t) => {
    const dir = pidfileDir(t);
    const daemon = startDaemon(
      t,
      ['--pidfile', `${dir}/app.pid`, '--user=nobody', '--listen=127.0.0.1:0', '--', 'sleep', '30'],
      {
        bin: worldReadableBin(t),
        cwd: '/tmp',
      },
    );
    await daemon.waitFor(/starting \(start\)/);
    assert.equal(readFileSync(`${dir}/app.pid`, 'utf8'), `${daemon.pid}\n`);
    const stat = lstatSync(`${dir}/app.pid`);
    assert.equal(stat.uid, 0, 'owned by root');
    assert.equal(stat.mode & 0o777, 0o644, 'not writable by the dropped user');
    daemon.signal('SIGTERM');
    await daemon.exited;
    // Dropped to nobody, tsdaemon cannot unlink in a root-owned directory: it empties the file instead.
    assert.equal(readFileSync(`${dir}/app.pid`, 'utf8'), '');

    const plain = startDaemon(t, ['--pidfile', `${dir}/plain.pid`, '--', 'true']);
    await plain.exited;
    assert.equal(existsSync(`${dir}/plain.pid`), false, 'removed when tsdaemon may remove it');
  },
);

test('--pidfile: a live tsdaemon is refused with its pid; stale and reused pids are replaced', async (t) => {
  const dir = pidfileDir(t);
  const first = startDaemon(t, ['--pidfile', `${dir}/app.pid`, '--', 'sleep', '30']);
  await first.waitFor(/starting \(start\)/);
  const second = startDaemon(t, ['--pidfile', `${dir}/app.pid`, '--', 'sleep', '30']);
  assert.equal((await second.exited).code, EXIT_PIDFILE);
  assert.match(second.stderr, new RegExp(`belongs to a running tsdaemon \\(pid ${first.pid}\\)`));
  assert.equal(readFileSync(`${dir}/app.pid`, 'utf8'), `${first.pid}\n`, 'the live one keeps its pidfile');
  await first.cleanup();

  // Stale: a pid that no longer exists.
  writeFileSync(`${dir}/stale.pid`, '999999\n');
  const stale = startDaemon(t, ['--pidfile', `${dir}/stale.pid`, '--', 'sleep', '30']);
  await stale.waitFor(/starting \(start\)/);
  assert.equal(readFileSync(`${dir}/stale.pid`, 'utf8'), `${stale.pid}\n`);

  // Reused: a live process that is not a tsdaemon (this test runner).
  writeFileSync(`${dir}/reused.pid`, `${process.pid}\n`);
  const reused = startDaemon(t, ['--pidfile', `${dir}/reused.pid`, '--', 'sleep', '30']);
  await reused.waitFor(/starting \(start\)/);
  assert.equal(readFileSync(`${dir}/reused.pid`, 'utf8'), `${reused.pid}\n`);
  assert.ok(isAlive(process.pid));
});

test('--pidfile: a symlink is refused and left alone', async (t) => {
  const dir = pidfileDir(t);
  writeFileSync(`${dir}/target`, 'precious\n');
  symlinkSync(`${dir}/target`, `${dir}/link.pid`);
  const daemon = startDaemon(t, ['--pidfile', `${dir}/link.pid`, '--listen=127.0.0.1:0', '--', 'true']);
  assert.equal((await daemon.exited).code, EXIT_PIDFILE);
  assert.match(daemon.stderr, /is a symlink; tsdaemon does not follow symlinks/);
  assert.equal(readFileSync(`${dir}/target`, 'utf8'), 'precious\n');
  assert.doesNotMatch(daemon.stderr, /listening/, 'refused before anything was bound');
});

test('--pidfile is removed after a failed start too (bind error, child that cannot start)', async (t) => {
  const dir = pidfileDir(t);
  const blocker = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sleep', '30']);
  const port = await blocker.port();
  const bind = startDaemon(t, ['--pidfile', `${dir}/bind.pid`, `--listen=127.0.0.1:${port}`, '--', 'true']);
  assert.equal((await bind.exited).code, 65);
  assert.equal(existsSync(`${dir}/bind.pid`), false);
  const crash = startDaemon(t, ['--pidfile', `${dir}/crash.pid`, '--', 'sh', '-c', 'exit 5']);
  assert.equal((await crash.exited).code, 5);
  assert.equal(existsSync(`${dir}/crash.pid`), false);
});
