// TCP listeners end to end: the real bin/tsdaemon binds, the child (Node or not) serves.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { fixture, get, getJson, startDaemon } from '../helpers/tsdaemon.mjs';

test('an unmodified Node app doing listen(process.env.PORT) serves on the IPv4 socket tsdaemon holds', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  const port = await daemon.port();
  const info = await getJson(port, '/v4');
  assert.equal(info.url, '/v4');
  assert.equal(info.address.port, port);
  assert.equal(info.env.PORT, String(port));
  assert.equal(info.env.LISTEN_FDS, '1');
  assert.equal(info.env.LISTEN_PID, String(info.pid), "LISTEN_PID is the child's own pid");
  assert.equal(info.env.LISTEN_FDNAMES, 'tcp-127.0.0.1-0', 'a stable name derived from the address as given');
  assert.match(info.fds['3'], /^socket:\[\d+\]$/, 'fd 3 is the socket');
  assert.equal(info.env.TSDAEMON_GENERATION, '1');
  assert.equal(info.env.TSDAEMON_WORKER, '0');
  assert.equal(info.env.TSDAEMON_PID, String(daemon.pid));
  const listeners = JSON.parse(info.env.TSDAEMON_LISTENERS);
  assert.deepEqual(
    listeners.map(({ name, fd, kind, host, port: p }) => ({ name, fd, kind, host, port: p })),
    [{ name: info.env.LISTEN_FDNAMES, fd: 3, kind: 'tcp', host: '127.0.0.1', port }],
  );
});

test('IPv6 [::1] works and a literal app.listen(<held port>) does not fail with EADDRINUSE', async (t) => {
  // The shell puts the port tsdaemon bound into the app's argv: the app listens on a literal number.
  const daemon = startDaemon(t, [
    '--listen=web=[::1]:0',
    '--',
    'sh',
    '-c',
    `exec node ${fixture('env-server.js')} "$PORT"`,
  ]);
  const port = await daemon.port('web');
  await daemon.waitFor(/env-server listening/);
  const info = await getJson(port, '/v6', { host: '::1' });
  assert.equal(info.address.address, '::1');
  assert.equal(info.env.LISTEN_FDNAMES, 'web');
});

test('a host name is resolved and several listeners arrive as fds 3, 4 in --listen order', async (t) => {
  const daemon = startDaemon(t, [
    '-l',
    'first=localhost:0',
    '-l',
    'second=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  const first = await daemon.port('first');
  const second = await daemon.port('second');
  const info = await getJson(first, '/');
  assert.equal(info.env.LISTEN_FDS, '2');
  assert.equal(info.env.LISTEN_FDNAMES, 'first:second');
  assert.equal(info.env.PORT, String(first));
  // The second socket is in LISTEN state (queued by the kernel) though nobody accepts on it.
  const socket = net.connect(second, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.destroy();
});

test('a non-Node child (python3) accepts on fd 3 and sees LISTEN_PID equal to its own pid', async (t) => {
  const daemon = startDaemon(t, ['--listen=web=127.0.0.1:0', '--', fixture('py-server.py')]);
  const port = await daemon.port();
  const info = await getJson(port, '/');
  assert.equal(info.listen_pid_ok, true, `LISTEN_PID=${info.listen_pid} pid=${info.pid}`);
  assert.equal(info.names, 'web');
});

test('connections made before the child accepts are queued and served by the child: tsdaemon never accepts', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', fixture('py-server.py'), '1.5']);
  const port = await daemon.port();
  // 40 requests while the child sleeps before its first accept(): none refused, none answered by anyone else.
  const started = Date.now();
  const pending = Promise.all(Array.from({ length: 40 }, () => getJson(port, '/', { timeoutMs: 10_000 })));
  const childPid = await daemon.childPid();
  const answers = await pending;
  assert.ok(Date.now() - started >= 1000, 'answers came only once the child accepted');
  for (const answer of answers) assert.equal(answer.pid, childPid);
});

test('--no-preload leaves listen() alone, so the same app then collides with the held port', async (t) => {
  const daemon = startDaemon(t, [
    '--no-preload',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  // Without the preload the app binds the same port itself and fails: that is what the preload prevents.
  const { code } = await daemon.exited;
  assert.notEqual(code, 0);
  assert.match(daemon.output, /EADDRINUSE/);
});

test('the supervisor process itself never has the listening socket in an epoll set', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  const port = await daemon.port();
  await get(port);
  const { readdirSync, readlinkSync, readFileSync } = await import('node:fs');
  const socketInode = Number(/socket:\[(\d+)\]/.exec((await getJson(port)).fds['3'])[1]);
  const inodesInEpoll = [];
  for (const fd of readdirSync(`/proc/${daemon.pid}/fd`)) {
    let link = '';
    try {
      link = readlinkSync(`/proc/${daemon.pid}/fd/${fd}`);
    } catch {}
    if (link !== 'anon_inode:[eventpoll]') continue;
    const info = readFileSync(`/proc/${daemon.pid}/fdinfo/${fd}`, 'utf8');
    for (const match of info.matchAll(/ino:([0-9a-f]+)/g)) inodesInEpoll.push(Number.parseInt(match[1], 16));
  }
  assert.ok(!inodesInEpoll.includes(socketInode), 'tsdaemon does not poll the listening socket');
});
