// systemd's notify protocol, against a real datagram receiver (python3 binds the NOTIFY_SOCKET).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { fixture, sleep, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

/** A datagram receiver that prints every message it gets as one JSON string per line. */
function receiver(t, path) {
  const child = spawn(
    'python3',
    [
      '-c',
      `import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + sys.argv[1][1:] if sys.argv[1].startswith("@") else sys.argv[1])
print("bound", flush=True)
while True: print(json.dumps(s.recv(4096).decode()), flush=True)`,
      path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const messages = [];
  let buffer = '';
  const waiters = new Set();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop();
    for (const line of lines) if (line !== 'bound') messages.push(JSON.parse(line));
    for (const w of waiters) w();
  });
  const bound = new Promise((resolve) => child.stdout.once('data', resolve));
  const waitFor = (re, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = messages.find((m) => re.test(m));
        if (hit) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(
        () => reject(new Error(`no ${re} among ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      waiters.add(check);
      check();
    });
  return { bound, messages, waitFor };
}

/** A fresh NOTIFY_SOCKET path in a temporary directory that the test removes. */
function socketPath(t) {
  const dir = tempDir(t, 'tsdaemon-notify-');
  return `${dir}/notify.sock`;
}

test('NOTIFY_SOCKET: READY=1 when ready, RELOADING=1 + MONOTONIC_USEC and READY=1 around SIGHUP, STOPPING=1', async (t) => {
  const path = socketPath(t);
  const systemd = receiver(t, path);
  await systemd.bound;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    env: { NOTIFY_SOCKET: path },
  });
  await daemon.waitFor(/generation 1 ready/);
  await systemd.waitFor(/^READY=1\nSTATUS=running$/);
  daemon.signal('SIGHUP');
  const reloading = await systemd.waitFor(/^RELOADING=1\nMONOTONIC_USEC=\d+/);
  assert.ok(Number(/MONOTONIC_USEC=(\d+)/.exec(reloading)[1]) > 0);
  await daemon.waitFor(/generation 2 ready/);
  await sleep(100);
  assert.equal(systemd.messages.filter((m) => m.startsWith('READY=1')).length, 2);
  daemon.signal('SIGTERM');
  await systemd.waitFor(/^STOPPING=1/);
  assert.equal((await daemon.exited).code, 0);
});

test('NOTIFY_SOCKET in the abstract namespace (@name), as containers and user managers may set it', async (t) => {
  const path = `@tsdaemon-test-${randomUUID()}`;
  const systemd = receiver(t, path);
  await systemd.bound;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    env: { NOTIFY_SOCKET: path },
  });
  await systemd.waitFor(/^READY=1\nSTATUS=running$/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('NOTIFY_SOCKET with no one listening: one warning, and serving goes on', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    env: { NOTIFY_SOCKET: socketPath(t), WATCHDOG_USEC: '100000' },
  });
  await daemon.waitFor(/generation 1 ready/);
  await sleep(400);
  assert.equal(
    daemon.stderr.match(/sd_notify to .*: sendto: No such file or directory/g)?.length,
    1,
    daemon.stderr,
  );
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('WATCHDOG_USEC: WATCHDOG=1 pings while a child serves', async (t) => {
  const path = socketPath(t);
  const systemd = receiver(t, path);
  await systemd.bound;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' },
  });
  await daemon.waitFor(/generation 1 ready/);
  await systemd.waitFor(/^WATCHDOG=1$/);
  await sleep(450);
  assert.ok(systemd.messages.filter((m) => m === 'WATCHDOG=1').length >= 3, 'every 100 ms');
});
