// HTTP apps with no drain code of their own: HTTP/2 sessions get GOAWAY and move to the new generation
// without a failed request, a server-sent-events stream runs until the deadline less the margin and then
// ends complete, and idle keep-alive connections close within about a second of the drain start.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { fixture, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const LAME_DUCK = ['--lame-duck=3s', '--listen=127.0.0.1:0'];
/** The slow requests of the h2c load (h2c-server.js answers /?ms=N after N ms). */
const SLOW_MS = 1000;

/**
 * HTTP/2 clients sending requests back to back on one session; on GOAWAY the session is replaced by a new
 * one. A request refused because of the GOAWAY (REFUSED_STREAM: Node's client refuses a request it had
 * not written yet when the GOAWAY came; or one made on the closing session) was never processed, and is
 * sent again on the new session, as RFC 9113 section 8.7 allows; every other error is a failure.
 */
function h2Load(port, { loops = 4 } = {}) {
  const stats = { ok: 0, failed: 0, errors: [], resent: 0, goaways: 0, pids: new Set(), slow: [] };
  let session;
  const connect = () => {
    const current = http2.connect(`http://127.0.0.1:${port}`);
    current.on('error', () => {});
    current.once('goaway', () => {
      stats.goaways++;
      if (session === current) session = undefined;
    });
    current.once('close', () => {
      if (session === current) session = undefined;
    });
    return current;
  };
  const streamError = (message, rstCode) => Object.assign(new Error(message), { rstCode });
  const refused = (error) =>
    error.code === 'ERR_HTTP2_GOAWAY_SESSION' ||
    error.code === 'ERR_HTTP2_INVALID_SESSION' ||
    error.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
    /REFUSED_STREAM/.test(error.message);
  const once = (path) =>
    new Promise((resolve) => {
      session ??= connect();
      let req;
      try {
        req = session.request({ ':path': path });
      } catch (error) {
        resolve(error);
        return;
      }
      let status;
      let body = '';
      req.on('response', (headers) => {
        status = headers[':status'];
      });
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
      });
      // Newer Node versions end a stream reset by the peer (or refused) without an 'error' event.
      req.on('end', () =>
        resolve(
          status === 200 ? { body } : streamError(`status ${status}, rstCode ${req.rstCode}`, req.rstCode),
        ),
      );
      req.on('error', resolve);
      req.end();
    });
  const one = async (path) => {
    for (;;) {
      const sentAt = Date.now();
      const result = await once(path);
      if (!(result instanceof Error)) {
        const { pid } = JSON.parse(result.body);
        stats.ok++;
        stats.pids.add(pid);
        if (path !== '/') stats.slow.push({ sentAt, doneAt: Date.now(), pid });
        return;
      }
      if (!refused(result)) {
        stats.failed++;
        stats.errors.push(result.code ?? result.message);
        return;
      }
      stats.resent++;
    }
  };
  let running = true;
  // Two loops keep a slow request (1 s) in flight, the second half a second after the first: whenever the
  // GOAWAY comes, a slow stream is open with at least half a second to go, longer than the test takes to
  // read the "draining" line on a loaded machine.
  const all = Array.from({ length: loops }, async (_, i) => {
    if (i === 1) await sleep(SLOW_MS / 2);
    while (running) await one(i < 2 ? `/?ms=${SLOW_MS}` : '/');
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(all);
      session?.close();
      return stats;
    },
  };
}

test('HTTP/2 (h2c): requests back to back across a hot restart, GOAWAY, 0 failed', async (t) => {
  const daemon = startDaemon(t, [...LAME_DUCK, '--', 'node', fixture('h2c-server.js')]);
  const port = await daemon.port();
  const first = await daemon.childPid();
  const load = h2Load(port);
  t.after(() => load.stop());
  await sleep(SLOW_MS);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/draining generation 1/);
  const drainAt = Date.now();
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
  const second = await daemon.childPid(2);
  await sleep(300);
  const stats = await load.stop();
  t.diagnostic(
    `h2c: ${stats.ok} answered, ${stats.failed} failed, ${stats.resent} refused by GOAWAY and sent again`,
  );
  assert.equal(stats.failed, 0, `failed: ${stats.errors.join(', ')}`);
  assert.ok(stats.goaways >= 1, 'the client saw a GOAWAY');
  assert.ok(stats.pids.has(first) && stats.pids.has(second), 'answered by both generations');
  assert.ok(
    stats.slow.some((r) => r.sentAt < drainAt && r.doneAt > drainAt && r.pid === first),
    'a slow request in flight when the drain started was answered by the old generation',
  );
  // The old generation exits as soon as its sessions are done, long before the deadline.
  assert.doesNotMatch(daemon.output, /SIGKILL/);
});

test('server-sent events: a SIGTERM lets the stream run until the deadline less the margin, then ends it complete; exit 0', async (t) => {
  const daemon = startDaemon(t, [...LAME_DUCK, '--', 'node', fixture('sse-server.js')]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const events = [];
  const stream = new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        for (const _ of chunk.matchAll(/^data: /gm)) events.push(Date.now());
      });
      res.on('end', () => resolve({ complete: res.complete, at: Date.now() }));
      res.on('aborted', () => reject(new Error('aborted')));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  await sleep(300);
  const stopAt = Date.now();
  daemon.signal('SIGTERM');
  const end = await stream;
  assert.equal(end.complete, true, 'the chunked response ended with its last chunk');
  assert.ok(end.at - stopAt > 2000, `ended ${end.at - stopAt} ms after SIGTERM`);
  assert.ok(
    events.some((at) => at > stopAt + 2000),
    'events still came 2 s into the drain',
  );
  assert.equal((await daemon.exited).code, 0);
  assert.doesNotMatch(daemon.output, /SIGKILL/);
  t.diagnostic(`stream ended ${end.at - stopAt} ms, tsdaemon exited ${Date.now() - stopAt} ms after SIGTERM`);
});

/** count keep-alive connections that each got one answer and then stay idle; each notes when and how it ended. */
async function idleConnections(port, count) {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port });
          const connection = { socket, error: undefined, endAt: undefined };
          connection.closed = new Promise((done) => socket.on('close', done));
          socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
          socket.once('data', () => resolve(connection));
          socket.on('end', () => {
            connection.endAt = Date.now();
          });
          socket.on('error', (error) => {
            connection.error = error.code;
            reject(error);
          });
        }),
    ),
  );
}

test('idle keep-alive connections close within about a second of the drain start; 0 failed under load', async (t) => {
  // keepAliveTimeout 30 s: Node itself would close them only after that.
  const daemon = startDaemon(t, [...LAME_DUCK, '--', 'node', fixture('sse-server.js')], {
    env: { KEEP_ALIVE_MS: '30000' },
  });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const idle = await idleConnections(port, 20);
  t.after(() => {
    for (const { socket } of idle) socket.destroy();
  });
  const load = startLoad({ port, connections: 8 });
  t.after(() => load.stop());
  await sleep(300);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/draining generation 1/);
  const drainAt = Date.now();
  await Promise.all(idle.map((connection) => connection.closed));
  const closedMs = idle.map((connection) => connection.endAt - drainAt);
  t.diagnostic(
    `idle connections closed ${Math.min(...closedMs)}..${Math.max(...closedMs)} ms into the drain`,
  );
  for (const connection of idle) assert.equal(connection.error, undefined, 'closed with a FIN, not a reset');
  assert.ok(Math.max(...closedMs) < 2500, 'well before the lame-duck deadline and keepAliveTimeout');
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
  await sleep(200);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed: ${JSON.stringify([...stats.errors])}`);
  assert.ok(stats.pids.size >= 2 || stats.ok > 0);
  // And a stop of the idle server (the load is over) does not wait for keepAliveTimeout either.
  const idleAgain = await idleConnections(port, 20);
  t.after(() => {
    for (const { socket } of idleAgain) socket.destroy();
  });
  const stopAt = Date.now();
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  t.diagnostic(`SIGTERM with 20 idle connections: tsdaemon exited after ${Date.now() - stopAt} ms`);
  for (const connection of idleAgain) assert.equal(connection.error, undefined);
});
