// Unix stream sockets (mode, stale files, removal on exit) and UDP sockets.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { fixture, getJson, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

test('unix:PATH with mode=0660 is served by an unmodified app doing listen(PATH), and removed on exit', async (t) => {
  const path = `${tempDir(t)}/app.sock`;
  const daemon = startDaemon(t, [
    `--listen=admin=unix:${path},mode=0660`,
    '--',
    'node',
    fixture('env-server.js'),
    path,
  ]);
  await daemon.waitFor(/env-server listening/);
  assert.equal(lstatSync(path).mode & 0o777, 0o660);
  const info = await getJson(path, '/unix');
  assert.equal(info.env.LISTEN_FDNAMES, 'admin');
  assert.equal(info.env.PORT, undefined, 'PORT is only set for a TCP listener');
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.equal(existsSync(path), false, 'the socket file is gone');
});

test('a stale socket file (nobody answers) is replaced; a live one is refused and left alone', async (t) => {
  const dir = tempDir(t);
  const stale = `${dir}/stale.sock`;
  // A socket file whose server is gone: bind with python and exit without unlinking.
  const { execFileSync } = await import('node:child_process');
  execFileSync('python3', [
    '-c',
    `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(stale)})`,
  ]);
  assert.ok(lstatSync(stale).isSocket());
  const daemon = startDaemon(t, [`--listen=unix:${stale}`, '--', 'node', fixture('env-server.js'), stale]);
  await daemon.waitFor(/env-server listening/);
  assert.equal((await getJson(stale, '/')).url, '/');

  // While that one serves, a second tsdaemon on the same path must not steal it.
  const second = startDaemon(t, [`--listen=unix:${stale}`, '--', 'sleep', '30']);
  assert.equal((await second.exited).code, 65);
  assert.match(second.stderr, /a running process answers on/);
  assert.equal((await getJson(stale, '/')).url, '/', 'the first one still serves');
});

test('a path that exists and is no socket is never replaced', async (t) => {
  const path = `${tempDir(t)}/important.txt`;
  writeFileSync(path, 'data');
  const daemon = startDaemon(t, [`--listen=unix:${path}`, '--', 'sleep', '30']);
  assert.equal((await daemon.exited).code, 65);
  assert.match(daemon.stderr, /exists and is not a socket/);
  assert.ok(lstatSync(path).isFile());
});

test('a failed start removes the unix socket file it created (nothing left behind)', async (t) => {
  const blocker = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sleep', '30']);
  const port = await blocker.port();
  const path = `${tempDir(t)}/left.sock`;
  const daemon = startDaemon(t, [`--listen=unix:${path}`, `--listen=127.0.0.1:${port}`, '--', 'sleep', '30']);
  assert.equal((await daemon.exited).code, 65);
  assert.equal(existsSync(path), false);
});

test('udp:127.0.0.1:PORT reaches a child reading datagrams on fd 3; datagrams sent before it starts are kept', async (t) => {
  const daemon = startDaemon(t, ['--listen=udp:127.0.0.1:0', '--', fixture('udp-echo.py')]);
  const port = await daemon.port();
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  const replies = [];
  const got = new Promise((resolve) => {
    client.on('message', (message) => {
      replies.push(String(message));
      if (replies.length === 2) resolve();
    });
  });
  client.send('early', port, '127.0.0.1');
  await daemon.waitFor(/udp-echo: ready/);
  client.send('late', port, '127.0.0.1');
  await got;
  const childPid = await daemon.childPid();
  assert.deepEqual(replies.sort(), [`${childPid}:early`, `${childPid}:late`]);
});

test('an unmodified Node app binding dgram on the held UDP port gets the inherited socket', async (t) => {
  const app = `import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send('node:' + m, r.port, r.address));
s.bind(Number(process.argv[1]), () => console.log('udp app bound', s.address().port));`;
  // The shell puts the port tsdaemon bound into the app's argv: the app binds a literal number.
  const daemon = startDaemon(t, [
    '--listen=udp:127.0.0.1:0',
    '--',
    'sh',
    '-c',
    'exec node --input-type=module -e "$0" "$(echo "$TSDAEMON_LISTENERS" | sed \'s/.*"port":\\([0-9]*\\).*/\\1/\')"',
    app,
  ]);
  const port = await daemon.port();
  await daemon.waitFor(/udp app bound/);
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  const reply = new Promise((resolve) => client.once('message', (m) => resolve(String(m))));
  client.send('ping', port, '127.0.0.1');
  assert.equal(await reply, 'node:ping');
});

test('the unix socket accepts connections before any child accepts (LISTEN state first)', async (t) => {
  const path = `${tempDir(t)}/early.sock`;
  const daemon = startDaemon(t, [`--listen=unix:${path}`, '--', fixture('py-server.py'), '1']);
  await daemon.waitFor(/listening unix/);
  const socket = net.connect(path);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.end('GET / HTTP/1.0\r\n\r\n');
  const body = await new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
  });
  assert.match(body, /"listen_pid_ok": true/);
});

test('a unix socket path with a space in it works from a flag', async (t) => {
  const path = `${tempDir(t)}/my app.sock`;
  const daemon = startDaemon(t, [`--listen=unix:${path}`, '--', 'node', fixture('env-server.js'), path]);
  await daemon.waitFor(/env-server listening/);
  assert.equal((await getJson(path, '/')).env.LISTEN_FDNAMES, 'unix-my_app');
});
