// Servers that bind their own port, unmodified, under tsdaemon: the bind shim (native/tsdaemon_bind.c,
// LD_PRELOAD) turns their bind() into the inherited socket. Debian's python3 -m http.server and a C server
// compiled here with cc hot-restart under load without a failed request; the matching rules, and the one
// line for each case the shim cannot help.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { compile } from '../helpers/cc.mjs';
import { installWithout, restartUnderLoad, slowRequest, tempDir } from '../helpers/launch.mjs';
import { fixture, freePort, get, getJson, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const PYTHON = '/usr/bin/python3';

/** Compile a fixture with cc into a temp dir; returns the program's path. */

/** The inodes of the sockets a process holds. */
function socketInodes(pid) {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    return match ? [Number(match[1])] : [];
  });
}

/**
 * A hot restart while generation 1 holds a request it has accepted but not yet read to its end (the
 * connection it drains): HUP, then once generation 1 drains, duringDrain() makes its requests; then the
 * request in hand is finished. Resolves with both pids and the answer to the request in hand, once
 * generation 1 exited.
 */
async function restartWithRequestInHand(daemon, port, duringDrain) {
  const first = await daemon.childPid(1);
  const inHand = net.connect(port, '127.0.0.1');
  let answer = '';
  inHand.on('data', (chunk) => {
    answer += chunk;
  });
  const answered = new Promise((resolve) => inHand.on('close', resolve));
  await once(inHand, 'connect');
  inHand.write('GET / HTTP/1.1\r\nHost: x\r\n');
  await sleep(200);
  daemon.signal('SIGHUP');
  const second = await daemon.childPid(2);
  await daemon.waitFor(/draining generation 1 /);
  await sleep(100);
  await duringDrain();
  inHand.end('\r\n');
  await answered;
  await daemon.waitFor(/generation 1 exited \(signal SIGTERM\)/);
  return { first, second, answer };
}

test("python3 -m http.server PORT: 3 hot restarts under load, 0 failed requests; only tsdaemon's socket listens", async (t) => {
  const port = await freePort();
  const dir = tempDir(t, 'tsdaemon-www-');
  const log = join(dir, 'tsdaemon.log');
  const daemon = startDaemon(
    t,
    [`--listen=:${port}`, `--log-file=${log}`, '--', PYTHON, '-m', 'http.server', String(port)],
    {
      cwd: dir,
    },
  );
  // Ready by the shim's READY=1 at listen(), or by the probe that sees python's poll() on the socket.
  await daemon.waitFor(
    /generation 1 ready: (READY=1 on the ready fd|accepting on an inherited socket)/,
    30_000,
  );

  // One listening socket on the port: tsdaemon's, with tsdaemon's backlog (python asked for 5).
  const ss = execFileSync('ss', ['-Htlne', `sport = :${port}`], { encoding: 'utf8' })
    .trim()
    .split('\n');
  assert.equal(ss.length, 1, ss.join('\n'));
  assert.match(ss[0], /^LISTEN\s+\d+\s+511\s/);
  const inode = Number(/\bino:(\d+)/.exec(ss[0])?.[1]);
  assert.ok(socketInodes(daemon.pid).includes(inode), 'the listening socket is the one tsdaemon holds');

  await restartUnderLoad(daemon, port);
  // http.server logs each request on stderr; tsdaemon logs it with the pid of the generation that served it.
  const requestLines = daemon.output.split('\n').filter((line) => /"GET \/ HTTP\/1\.1" 200/.test(line));
  const pids = new Set(requestLines.map((line) => /\bpid=(\d+)/.exec(line)?.[1]).filter(Boolean));
  assert.ok(pids.size >= 3, `requests logged by ${pids.size} generations`);
  assert.match(
    requestLines[0] ?? '',
    /127\.0\.0\.1 - - /,
    'the IPv4 client address, not a truncated IPv6 one',
  );
  assert.doesNotMatch(daemon.output, /Address already in use/);
});

test('python3 -m http.server draining a connection in hand accepts no new ones: they all reach the next generation', async (t) => {
  const port = await freePort();
  const dir = tempDir(t, 'tsdaemon-www-');
  const log = join(dir, 'tsdaemon.log');
  const daemon = startDaemon(t, [
    `--listen=127.0.0.1:${port}`,
    `--log-file=${log}`,
    '--',
    PYTHON,
    '-m',
    'http.server',
    String(port),
  ]);
  // Thread-per-connection: generation 1's main thread still polls its listening fd while the connection
  // in hand keeps it alive; the shim replaced that fd, so each of these goes to generation 2.
  const { first, second, answer } = await restartWithRequestInHand(daemon, port, async () => {
    for (let i = 0; i < 12; i++) assert.equal((await get(port, `/?n=${i}`)).status, 200);
  });
  assert.match(answer, /^HTTP\/1\.0 200 /, 'the request in hand was answered');

  const servedBy = (n) =>
    daemon.output
      .split('\n')
      .filter((line) => line.includes(`"GET /?n=${n} HTTP/1.1" 200`))
      .map((line) => Number(/\bpid=(\d+)/.exec(line)?.[1]));
  for (let i = 0; i < 12; i++)
    assert.deepEqual(servedBy(i), [second], `request ${i} (generation 1 is ${first})`);
});

test('a pre-threaded C server (threads blocked in accept()): drained with a connection in hand, it accepts no new ones; 3 hot restarts under load, 0 failed requests', async (t) => {
  const server = compile(t, 'c-prethreaded.c', { flags: ['-pthread'] });
  const port = await freePort();
  const daemon = startDaemon(t, [`--listen=:${port}`, '--', server, String(port), '4']);
  // One thread holds the request in hand; the three others wait in accept().
  const servedBy = [];
  const { first, second, answer } = await restartWithRequestInHand(daemon, port, async () => {
    for (let i = 0; i < 12; i++) servedBy.push((await getJson(port, '/')).pid);
  });
  assert.deepEqual(servedBy, Array(12).fill(second), `generation 1 is ${first}`);
  assert.match(answer, /^HTTP\/1\.1 200 [\s\S]*"pid":\d+/, 'the request in hand was answered');

  const stats = await restartUnderLoad(daemon, port);
  assert.ok(stats.pids.size >= 3, `served by ${stats.pids.size} generations`);
});

test('a C server that binds and listens itself: 3 hot restarts under load, 0 failed requests; SIGTERM finishes the request in hand', async (t) => {
  const server = compile(t, 'c-server.c');
  const port = await freePort();
  const daemon = startDaemon(t, [`--listen=:${port}`, '--', server, String(port)]);
  await daemon.waitFor(/generation 1 ready/, 20_000);
  const answer = await getJson(port, '/');
  assert.equal(answer.peer, '127.0.0.1', 'accept() gave the IPv4 program an IPv4 address');
  const stats = await restartUnderLoad(daemon, port);
  assert.ok(stats.pids.size >= 3, `served by ${stats.pids.size} generations`);
  const slow = slowRequest(port, 1000);
  await sleep(300);
  daemon.signal('SIGTERM');
  assert.equal((await slow).status, 200, 'the request in hand at SIGTERM was answered');
  assert.equal((await daemon.exited).code, 0);
});

test('the matching rules: exact, covered, wildcard, dual stack, UDP, other type, port 0, the same address twice', async (t) => {
  const probe = compile(t, 'bind-probe.c');
  const daemon = startDaemon(t, [
    '--restart=never',
    '--listen=a=127.0.0.1:0',
    '--listen=b=:0',
    '--listen=c=[::1]:0',
    '--listen=d=0.0.0.0:0',
    '--listen=e=udp:127.0.0.1:0',
    '--',
    ...[probe],
    ...['tcp', '127.0.0.1', '@3'], // exact
    ...['tcp', '127.0.0.1', '@3'], // the same address again: a second copy
    ...['tcp', '0.0.0.0', '@3'], // the app's wildcard around tsdaemon's address
    ...['tcp', '127.0.0.2', '@3'], // another address on that port: its own
    ...['tcp', '0.0.0.0', '@4'], // 0.0.0.0 gets the dual-stack ::
    ...['tcp6', '::', '@4'],
    ...['tcp', '127.0.0.1', '@4'], // inside the dual-stack ::
    ...['tcp6', '::1', '@5'],
    ...['tcp', '127.0.0.1', '@5'], // IPv4 does not overlap [::1]
    ...['tcp', '127.0.0.1', '@6'], // inside 0.0.0.0
    ...['tcp6', '::', '@6'], // a dual-stack :: around 0.0.0.0
    ...['udp', '127.0.0.1', '@7'],
    ...['tcp', '127.0.0.1', '@7'], // a held UDP port is no TCP socket
    ...['tcp', '127.0.0.1', '0'], // port 0 is never held
  ]);
  await daemon.exited;
  const results = daemon.output
    .split('\n')
    .filter((line) => /^(tcp|udp)6? \S+ \S+ -> /.test(line))
    .map((line) => line.split(' -> ')[1]);
  assert.deepEqual(
    results,
    [
      'fd 3',
      'fd 3',
      'fd 3',
      'own',
      'fd 4',
      'fd 4',
      'fd 4',
      'fd 5',
      'own',
      'fd 6',
      'fd 6',
      'fd 7',
      'own',
      'own',
    ],
    daemon.output,
  );
});

test('one line, and no shim, for each program it cannot reach or may not load', async (t) => {
  // Statically linked: no ELF interpreter, nothing is preloaded; its bind() is its own.
  const staticProbe = compile(t, 'bind-probe.c', { flags: ['-static'] });
  const one = startDaemon(t, [
    '--restart=never',
    '--listen=127.0.0.1:0',
    '--',
    staticProbe,
    'tcp',
    '127.0.0.1',
    '@3',
  ]);
  await one.exited;
  assert.match(
    one.output,
    /info +\[\d+ starting\] the bind shim cannot reach \S+bind-probe: it is statically linked \(no ELF interpreter\), so nothing can be preloaded into it; it must take its socket from fd 3 \(LISTEN_FDS\)/,
  );
  assert.match(one.output, /-> error Address already in use/);

  // setuid: the dynamic loader ignores LD_PRELOAD for it (for any user but root).
  const setuid = join(dirname(staticProbe), 'setuid-probe');
  copyFileSync(compile(t, 'bind-probe.c'), setuid);
  chmodSync(setuid, 0o4755);
  const two = startDaemon(t, ['--restart=never', '--listen=127.0.0.1:0', '--', setuid]);
  await two.exited;
  assert.match(two.output, /the bind shim cannot reach \S+setuid-probe: it is setuid or setgid/);

  // Not built (no C compiler at install): python's own bind fails, and tsdaemon said why at start.
  const bin = installWithout(t, ['libtsdaemon_bind.so']);
  const port = await freePort();
  const three = startDaemon(
    t,
    ['--restart=never', `--listen=:${port}`, '--', PYTHON, '-m', 'http.server', String(port)],
    {
      bin,
    },
  );
  assert.notEqual((await three.exited).code, 0);
  assert.match(
    three.output,
    /warn +\[\d+ starting\] bind shim not available: \S+libtsdaemon_bind\.so was not built \(it needs a C compiler at install: npm rebuild tsdaemon\); a server that binds its --listen port itself fails with EADDRINUSE/,
  );
  assert.match(three.output, /Address already in use/);

  // Writable by every user: as root the whole install is refused (exit 77, test/os/root-install.test.mjs);
  // let through with --allow-unsafe-install, the shim is still not loaded.
  const unsafe = installWithout(t, []);
  chmodSync(join(dirname(unsafe), '../native/libtsdaemon_bind.so'), 0o777);
  const echo = ['--', 'sh', '-c', 'echo "LD_PRELOAD=$LD_PRELOAD."'];
  if (process.getuid() === 0) {
    const refused = startDaemon(t, ['--restart=never', '--listen=127.0.0.1:0', ...echo], { bin: unsafe });
    assert.equal((await refused.exited).code, 77);
    assert.match(
      refused.output,
      /refusing to run as root: \S+libtsdaemon_bind\.so is writable by every user/,
    );
  }
  const four = startDaemon(
    t,
    ['--restart=never', '--listen=127.0.0.1:0', '--allow-unsafe-install', ...echo],
    { bin: unsafe },
  );
  await four.exited;
  assert.match(
    four.output,
    /warn .* bind shim not loaded: \S+libtsdaemon_bind\.so is writable by every user \(mode 0777\)/,
  );
  assert.match(four.output, /^LD_PRELOAD=\.$/m);
});

test('who gets LD_PRELOAD: not node itself, a shell or launcher yes, nobody with --no-bind-shim', async (t) => {
  const env = async (args) => {
    const daemon = startDaemon(t, ['--listen=127.0.0.1:0', ...args]);
    const info = await getJson(await daemon.port(), '/');
    daemon.signal('SIGTERM');
    await daemon.exited;
    return info;
  };
  const direct = await env(['--', 'node', fixture('env-server.js')]);
  assert.equal(direct.env.LD_PRELOAD, undefined);
  const viaShell = await env(['--', 'sh', '-c', `exec node ${fixture('env-server.js')}`]);
  assert.match(viaShell.env.LD_PRELOAD ?? '', /\/native\/libtsdaemon_bind\.so$/);
  assert.equal(viaShell.env.LISTEN_PID, String(viaShell.pid));
  const off = await env(['--no-bind-shim', '--', 'sh', '-c', `exec node ${fixture('env-server.js')}`]);
  assert.equal(off.env.LD_PRELOAD, undefined);
});
