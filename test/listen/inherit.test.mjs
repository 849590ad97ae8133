// Sockets tsdaemon did not create: an fd it inherited (--listen=&N, the seed's syntax) and systemd socket
// activation (--listen=systemd), with systemd-socket-activate as the real peer.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { descendants, fixture, freePort, getJson, startDaemon } from '../helpers/tsdaemon.mjs';

// Opens a TCP socket (listening or only bound) on fd 5, prints its port, then execs tsdaemon with it.
const withSocketOnFd5 = (listen) => [
  'python3',
  '-c',
  `import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0))
${listen ? 's.listen(16)' : ''}
os.dup2(s.fileno(), 5); os.set_inheritable(5, True)
print("inherited port", s.getsockname()[1], file=sys.stderr, flush=True)
os.execvp(sys.argv[1], sys.argv[1:])`,
];

for (const listening of [true, false]) {
  test(`--listen=&5 hands on an inherited ${listening ? 'listening' : 'bound, not yet listening'} socket`, async (t) => {
    const daemon = startDaemon(t, ['--listen=&5', '--', 'node', fixture('env-server.js')], {
      prefix: withSocketOnFd5(listening),
    });
    const port = Number((await daemon.waitFor(/inherited port (\d+)/))[1]);
    await daemon.waitFor(/listening tcp 127\.0\.0\.1:\d+ name=fd5 fd=3/);
    const info = await getJson(port, '/');
    assert.equal(info.env.LISTEN_FDNAMES, 'fd5');
    assert.equal(info.env.PORT, String(port));
  });
}

test('--listen=&N with nothing open, or a file, on that fd: one clear line, exit 65', async (t) => {
  const closed = startDaemon(t, ['--listen=&9', '--', 'sleep', '30']);
  assert.equal((await closed.exited).code, 65);
  assert.match(closed.stderr, /--listen=&9: not an open socket/);
  const file = startDaemon(t, ['--listen=&7', '--', 'sleep', '30'], {
    prefix: [
      'python3',
      '-c',
      'import os,sys; fd=os.open("/etc/hostname", os.O_RDONLY); os.dup2(fd, 7); os.set_inheritable(7, True); os.execvp(sys.argv[1], sys.argv[1:])',
    ],
  });
  assert.equal((await file.exited).code, 65);
  assert.match(file.stderr, /--listen=&7: not an open socket/);
});

const ACTIVATE = '/usr/bin/systemd-socket-activate';

test('--listen=systemd takes the sockets systemd passed (systemd-socket-activate), names included', {
  skip: !existsSync(ACTIVATE) && 'no systemd-socket-activate',
}, async (t) => {
  const web = await freePort();
  const admin = await freePort();
  const daemon = startDaemon(t, ['--listen=systemd', '--', 'node', fixture('env-server.js')], {
    prefix: [ACTIVATE, '-l', `127.0.0.1:${web}`, '-l', `127.0.0.1:${admin}`, '--fdname=web:admin'],
  });
  await daemon.waitFor(/Listening on 127\.0\.0\.1:\d+/);
  // systemd-socket-activate execs tsdaemon on the first connection; that connection waits in the backlog.
  const info = await getJson(web, '/', { timeoutMs: 10_000 });
  assert.equal(info.env.LISTEN_FDNAMES, 'web:admin');
  assert.equal(info.env.LISTEN_FDS, '2');
  assert.equal(info.env.LISTEN_PID, String(info.pid));
  assert.equal(info.env.PORT, String(web));
  assert.match(daemon.output, /listening tcp 127\.0\.0\.1:\d+ name=web fd=3/);
  assert.match(daemon.output, /listening tcp 127\.0\.0\.1:\d+ name=admin fd=4/);
});

test('--listen=systemd:admin takes only the socket of that name', {
  skip: !existsSync(ACTIVATE) && 'no systemd-socket-activate',
}, async (t) => {
  const web = await freePort();
  const admin = await freePort();
  const daemon = startDaemon(t, ['--listen=systemd:admin', '--', 'node', fixture('env-server.js')], {
    prefix: [ACTIVATE, '-l', `127.0.0.1:${web}`, '-l', `127.0.0.1:${admin}`, '--fdname=web:admin'],
  });
  await daemon.waitFor(/Listening on 127\.0\.0\.1:\d+/);
  // The first connection (to web) wakes systemd-socket-activate; it is never served since the child has only admin.
  const wake = net.connect(web, '127.0.0.1');
  wake.on('error', () => {});
  t.after(() => wake.destroy());
  const info = await getJson(admin, '/', { timeoutMs: 10_000 });
  assert.equal(info.env.LISTEN_FDNAMES, 'admin');
  assert.equal(info.env.LISTEN_FDS, '1');
  assert.equal(info.env.PORT, String(admin));
});

test('--listen=systemd without socket activation: clear error, exit 65', async (t) => {
  const daemon = startDaemon(t, ['--listen=systemd', '--', 'sleep', '30']);
  assert.equal((await daemon.exited).code, 65);
  assert.match(daemon.stderr, /systemd passed no sockets/);
});

test('--listen=&5: only tsdaemon and its child hold the socket, not the death watcher', async (t) => {
  const daemon = startDaemon(t, ['--listen=&5', '--', 'node', fixture('env-server.js')], {
    prefix: withSocketOnFd5(true),
  });
  await daemon.waitFor(/generation 1 ready/);
  const inode = readlinkSync(`/proc/${daemon.pid}/fd/5`);
  const holders = descendants(daemon.pid).filter((pid) =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === inode;
      } catch {
        return false;
      }
    }),
  );
  const commands = holders.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  assert.equal(holders.length, 1, commands.join('\n'));
  assert.match(commands[0], /env-server\.js/);
});
