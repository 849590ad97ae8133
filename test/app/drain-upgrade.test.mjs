// Long-lived connections of apps with no drain code of their own, across a hot restart: WebSocket (the http
// server's upgrade path) and raw TCP stay connected and working until the lame-duck deadline less the
// margin (3 s − 300 ms here), then end cleanly; an app that uses the drain hook closes them itself.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { fixture, startDaemon } from '../helpers/tsdaemon.mjs';

const LAME_DUCK = ['--lame-duck=3s', '--listen=127.0.0.1:0'];
const CLIENTS = 4;

/** A WebSocket client that sends a message every 100 ms and notes when each echo came back. */
function wsClient(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const client = { echoes: [], errors: [], pid: undefined };
  let timer;
  client.greeted = new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', (data) => {
      client.pid = JSON.parse(String(data)).pid;
      ws.on('message', () => client.echoes.push(Date.now()));
      timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('ping'), 100);
      resolve();
    });
  });
  ws.on('error', (error) => client.errors.push(error.code ?? error.message));
  client.closed = new Promise((resolve) =>
    ws.on('close', (code, reason) => {
      clearInterval(timer);
      resolve({ code, reason: String(reason), at: Date.now() });
    }),
  );
  client.ws = ws;
  return client;
}

async function startRestart(t, env) {
  const daemon = startDaemon(t, [...LAME_DUCK, '--', 'node', fixture('ws-server.js')], { env });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const clients = Array.from({ length: CLIENTS }, () => wsClient(port));
  t.after(() => {
    for (const client of clients) client.ws.terminate();
  });
  await Promise.all(clients.map((client) => client.greeted));
  daemon.signal('SIGHUP');
  await daemon.waitFor(/draining generation 1/);
  return { daemon, port, clients, drainAt: Date.now() };
}

test('WebSocket, plain ws server: clients stay through the drain, then get close 1001 (no reset)', async (t) => {
  const { daemon, port, clients, drainAt } = await startRestart(t, {});
  const ends = await Promise.all(clients.map((client) => client.closed));
  for (const [i, end] of ends.entries()) {
    const { errors, echoes } = clients[i];
    assert.deepEqual(errors, [], 'no error (ECONNRESET) on the client');
    assert.equal(end.code, 1001, 'a close frame with 1001 (going away)');
    // Closed at the deadline less the margin (2.7 s after the stop signal), not after keepAliveTimeout
    // (5 s) and not at once; and the connection kept working until shortly before.
    assert.ok(end.at - drainAt > 2000, `closed ${end.at - drainAt} ms into the drain`);
    assert.ok(
      echoes.some((at) => at > drainAt + 2000),
      'echoes still came 2 s into the drain',
    );
  }
  t.diagnostic(`closed ${ends.map((end) => end.at - drainAt).join(', ')} ms after the drain started`);
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
  assert.doesNotMatch(daemon.output, /SIGKILL/);
  // A new client reaches the new generation.
  const fresh = wsClient(port);
  t.after(() => fresh.ws.terminate());
  await fresh.greeted;
  assert.notEqual(fresh.pid, clients[0].pid);
});

test('WebSocket, app using the drain hook: clients get its close code (1012) as the drain starts', async (t) => {
  const { daemon, clients, drainAt } = await startRestart(t, { WS_DRAIN_CLOSE: '1012' });
  const ends = await Promise.all(clients.map((client) => client.closed));
  for (const [i, end] of ends.entries()) {
    assert.deepEqual(clients[i].errors, []);
    assert.equal(end.code, 1012);
    assert.equal(end.reason, 'draining');
    assert.ok(end.at - drainAt < 2000, `closed ${end.at - drainAt} ms into the drain, by the app`);
  }
  // With its connections gone the old generation exits long before the deadline.
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
});

test('raw TCP (a net.Server echo app): the connection keeps working in the drain, then ends with a FIN', async (t) => {
  const daemon = startDaemon(t, [...LAME_DUCK, '--', 'node', fixture('tcp-echo.js')]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const socket = net.connect({ host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  socket.setEncoding('utf8');
  const echoes = [];
  const errors = [];
  let received = '';
  const greeted = new Promise((resolve) => {
    socket.on('data', (chunk) => {
      received += chunk;
      if (/^pid \d+\n/.test(received)) resolve();
      for (const _ of chunk.matchAll(/ping\n/g)) echoes.push(Date.now());
    });
  });
  socket.on('error', (error) => errors.push(error.code));
  const ended = new Promise((resolve) => socket.on('end', () => resolve(Date.now())));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await greeted;
  const timer = setInterval(() => socket.writable && socket.write('ping\n'), 100);
  t.after(() => clearInterval(timer));
  daemon.signal('SIGHUP');
  await daemon.waitFor(/draining generation 1/);
  const drainAt = Date.now();
  const endAt = await ended;
  clearInterval(timer);
  await closed;
  assert.deepEqual(errors, [], 'no reset');
  assert.ok(endAt - drainAt > 2000, `FIN ${endAt - drainAt} ms into the drain`);
  assert.ok(
    echoes.some((at) => at > drainAt + 2000),
    'echoes still came 2 s into the drain',
  );
  t.diagnostic(`FIN ${endAt - drainAt} ms after the drain started`);
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
  assert.doesNotMatch(daemon.output, /SIGKILL/);
});
