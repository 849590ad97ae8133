// The final stop refuses new connections as a plain server does: tsdaemon closes its own copies of the
// listening sockets when the final drain starts, so a connection that arrives during the drain is refused
// (or served by a generation still serving) instead of queueing for nobody and being reset at exit.
// A hot restart, a lame-duck delay and a retiring worker keep them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { fixture, get, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const SLOW_APP = fixture('slow-app.js');

/** Connect and send one request; resolves with 'refused', 'reset', 'answered' or another error code. */
function tryRequest(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data.startsWith('HTTP/1.1 200') ? 'answered' : `ended: ${data}`));
    socket.on('error', (error) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : error.code === 'ECONNRESET' ? 'reset' : error.code),
    );
  });
}

/** Failures a client cannot retry: everything but a refused connection. */
function unretryable(stats) {
  return [...stats.errors].filter(([reason]) => reason !== 'ECONNREFUSED');
}

test('a stop under load (50 keep-alive connections, 200 ms app) resets nothing, three times over', async (t) => {
  for (let round = 1; round <= 3; round++) {
    const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', SLOW_APP]);
    const port = await daemon.port();
    await daemon.childPid();
    const load = startLoad({ port, connections: 50 });
    await sleep(700);
    daemon.signal('SIGTERM');
    const { code } = await daemon.exited;
    const stats = await load.stop();
    assert.equal(code, 0, daemon.output);
    assert.ok(stats.ok >= 50, `round ${round}: only ${stats.ok} answered`);
    assert.deepEqual(unretryable(stats), [], `round ${round}: ${JSON.stringify([...stats.errors])}`);
  }
});

test('a request sent 200 ms into a drain is refused, never reset, while in-flight work finishes', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', SLOW_APP]);
  const port = await daemon.port();
  await daemon.childPid();
  const long = get(port, '/long');
  await sleep(100);
  daemon.signal('SIGTERM');
  await sleep(200);
  assert.equal(await tryRequest(port), 'refused');
  assert.equal((await long).status, 200);
  assert.equal((await daemon.exited).code, 0);
  await daemon.waitFor(/closed tsdaemon's copies|draining -> stopped/);
});

test('during --lame-duck-delay the socket still serves; after it, new connections are refused', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--lame-duck-delay=800ms', '--', 'node', SLOW_APP]);
  const port = await daemon.port();
  await daemon.childPid();
  const long = get(port, '/long');
  await sleep(100);
  daemon.signal('SIGTERM');
  await sleep(300);
  assert.equal(await tryRequest(port), 'answered', 'still serving within the delay');
  await daemon.waitFor(/lame-duck delay over/);
  await sleep(200);
  assert.equal(await tryRequest(port), 'refused');
  assert.equal((await long).status, 200);
  assert.equal((await daemon.exited).code, 0);
});

test('a hot restart keeps the sockets: no connection refused across SIGHUPs', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', SLOW_APP], {
    env: { SLOW_MS: '5' },
  });
  const port = await daemon.port();
  await daemon.childPid();
  const load = startLoad({ port, connections: 8 });
  for (let gen = 2; gen <= 3; gen++) {
    daemon.signal('SIGHUP');
    await daemon.childPid(gen);
    await sleep(200);
  }
  const stats = await load.stop();
  assert.equal(stats.failed, 0, JSON.stringify([...stats.errors]));
  assert.ok(stats.pids.size >= 2, 'served by more than one generation');
});

test('with --workers, a retiring worker (SIGTTOU) keeps the sockets for the others; SIGTERM closes them', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--workers=2', '--', 'node', SLOW_APP], {
    env: { SLOW_MS: '5' },
  });
  const port = await daemon.port();
  await daemon.waitFor(/worker=1.*ready|ready.*worker=1/);
  daemon.signal('SIGTTOU');
  await daemon.waitFor(/generation \d+ exited/);
  for (let i = 0; i < 5; i++) assert.equal(await tryRequest(port), 'answered');
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.equal(await tryRequest(port), 'refused');
});
