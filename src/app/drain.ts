// Draining a server without failing a request, and without cutting a long-lived connection before the
// lame-duck deadline. For every kind of connection (./connections.ts):
//
//   1. Stop accepting: net.Server.prototype.close. Not http.Server#close(), which first closes every
//      connection that looks idle, among them connections whose request is on the way (a reset).
//   2. HTTP/1: every response not yet started, and every later one, says Connection: close, so a busy
//      keep-alive connection ends after its current response (Node closes it then).
//   3. HTTP/1 connections that are idle are closed once they have been quiet for IDLE_QUIET_MS (1 s)
//      since the drain started: no response in progress and not one byte read, looked at every
//      IDLE_CHECK_MS. So idle keep-alive connections are gone about 1.1 s into the drain.
//      Why wait at all: closing an idle keep-alive connection races with a client that sends its next
//      request on it at that moment, and that request fails (ECONNRESET, "socket hang up"). No server
//      can answer a request that crosses its FIN: nothing can be written after a FIN, so half-closing
//      does not help; and a request already received but still unread is reset by the close. What
//      avoids the race is not closing a connection the client is using. The worst case is a client
//      that has not yet read our last response: it reads the response and the FIN in one go, and a
//      Node client sends its next request on the connection before it sees the FIN. Measured with
//      bench/drain.mjs (200 keep-alive clients back to back, 20 hot restarts per run, 2 cores at a load
//      average of 15-26, so the clients were starved of CPU for hundreds of ms), failed requests per
//      run: closing idle connections at once 771-1,505; after 200 ms of quiet 329; after 500 ms 0-239;
//      after 1 s 0 in 4 of 4 runs. With clients that pause 0-1 s between requests: 42-114, 90, 0-85,
//      and 0 in 6 of 6. Counting the quiet time from before the drain started too (Node's socket
//      timer knows the last I/O) would close long-idle connections at once, but failed 27-72 requests
//      in 4 of 8 runs: a client that paused for a second right before the drain has no time left.
//      Two details close the remaining gaps: the close happens in the check phase, right after the
//      poll phase has read what had arrived (a request that came in meanwhile moves bytesRead and is
//      answered instead), and it is destroy(): with nothing unread that is a FIN, and the fd is free.
//   4. HTTP/2: every session gets GOAWAY at once (./http2-session.ts); its open streams finish.
//   5. Upgraded connections (WebSocket) and raw net connections are left alone: the app was told (the
//      stop signal, and onDrain() of ./drain-clock.ts) and closes them itself, by the close time.
//   6. At the close time (the lame-duck deadline less the margin, ./drain-clock.ts; or timeoutMs), what
//      is still open is ended cleanly (./connection-end.ts); what is still open half the margin (at
//      most MAX_CLOSE_GRACE_MS) later, destroyed. Without a deadline (not run by tsdaemon, no
//      timeoutMs) nothing is forced.
//   7. The server's 'close' event (and the promise) come when the last connection is gone.
//
// Nothing of this runs before the drain starts: a serving app pays for one listener per connection
// (./connections.ts), nothing per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import { Server as NetServer, type Server, type Socket } from 'node:net';
import { destroyConnection, endConnection } from './connection-end.js';
import { type Connections, connectionsOf, type HttpSocket, track } from './connections.js';
import { beginDrain } from './drain-clock.js';
import { closeSession } from './http2-session.js';

const IDLE_CHECK_MS = 100;
const IDLE_QUIET_MS = 1000;
const MAX_CLOSE_GRACE_MS = 500;

export interface DrainOptions {
  /**
   * End what is still open after this many ms. Default: under tsdaemon, at the lame-duck deadline less
   * the margin; otherwise never (the app closes its long-lived connections itself).
   */
  timeoutMs?: number;
}

const DRAINING = Symbol.for('tsdaemon.draining');
type Drained = Server & { [DRAINING]?: Promise<void> };

export function isDraining(server: Server): boolean {
  return (server as Drained)[DRAINING] !== undefined;
}

/**
 * Drain server: stop accepting, let every in-flight request finish with Connection: close, close idle
 * connections, send HTTP/2 GOAWAY, end what is left at the close time, and resolve once the last
 * connection is gone. Idempotent (also across copies of this module); safe on an untracked server.
 */
export function drain(server: Server, options: DrainOptions = {}): Promise<void> {
  const connections = track(server);
  const drained = server as Drained;
  const existing = drained[DRAINING];
  if (existing) return existing;
  const info = beginDrain();
  const closeAt = options.timeoutMs === undefined ? info.closeAt : Date.now() + options.timeoutMs;
  // Half of the margin before the SIGKILL, so the process still exits on its own.
  const graceMs =
    info.deadline !== undefined && closeAt !== undefined && options.timeoutMs === undefined
      ? Math.min(MAX_CLOSE_GRACE_MS, Math.max(0, (info.deadline - closeAt) / 2))
      : MAX_CLOSE_GRACE_MS;
  const promise = new Promise<void>((resolve) => {
    if (!server.listening && connections.raw.size === 0) {
      resolve();
      return;
    }
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, run: () => void) => {
      const timer = setTimeout(run, Math.max(0, ms));
      timer.unref();
      timers.push(timer);
    };
    // Prepended, so it runs before the app's own handler: a handler that answers synchronously would
    // otherwise have sent its headers (keep-alive) before Connection: close could be added. HTTP/2
    // responses (the 'request' of an http2 server) must not get a connection header at all.
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor < 2 && !res.headersSent) res.setHeader('connection', 'close');
    };
    const onSession = (session: Http2Session) => closeSession(session);
    server.prependListener('request', onRequest);
    server.on('session', onSession);
    server.once('close', () => {
      for (const timer of timers) clearTimeout(timer);
      server.off('request', onRequest);
      server.off('session', onSession);
      resolve();
    });
    for (const connection of connectionsOf(connections)) {
      if (connection.kind === 'http2') closeSession(connection.session);
      const res = connection.kind === 'http1' ? connection.socket._httpMessage : undefined;
      if (res && !res.headersSent) res.setHeader('connection', 'close');
    }
    const closeIdle = createIdleCloser(connections);
    closeIdle();
    const timer = setInterval(closeIdle, IDLE_CHECK_MS);
    timer.unref();
    timers.push(timer as unknown as NodeJS.Timeout);
    if (closeAt !== undefined) {
      later(closeAt - Date.now(), () => {
        for (const connection of connectionsOf(connections)) endConnection(connection);
        later(graceMs, () => {
          for (const connection of connectionsOf(connections)) destroyConnection(connection);
        });
      });
    }
    // Stop accepting; 'close' follows when the last connection ends (also for a server the app had
    // already closed itself).
    if (server.listening) NetServer.prototype.close.call(server);
  });
  drained[DRAINING] = promise;
  return promise;
}

/**
 * One look at every HTTP/1 connection: close those quiet for IDLE_QUIET_MS since the drain started (see
 * 3. above). The close itself waits for the check phase of the event loop, right after its poll phase
 * has read whatever had arrived: a request that reached the socket in the meantime is seen (bytesRead
 * moved) and answered, instead of being reset by closing the socket with it unread.
 */
function createIdleCloser(connections: Connections): () => void {
  const seen = new WeakMap<Socket, { since: number; bytesRead: number }>();
  return () => {
    const now = Date.now();
    const quiet: { socket: HttpSocket; bytesRead: number }[] = [];
    for (const connection of connectionsOf(connections)) {
      if (connection.kind !== 'http1') continue;
      const { socket } = connection;
      let last = seen.get(socket);
      if (!last) {
        last = { since: now, bytesRead: socket.bytesRead };
        seen.set(socket, last);
      } else if (last.bytesRead !== socket.bytesRead) {
        last.since = now;
        last.bytesRead = socket.bytesRead;
        continue;
      }
      if (socket._httpMessage) {
        last.since = now;
        continue;
      }
      if (now - last.since >= IDLE_QUIET_MS) quiet.push({ socket, bytesRead: socket.bytesRead });
    }
    if (quiet.length === 0) return;
    setImmediate(() => {
      for (const { socket, bytesRead } of quiet)
        if (!socket._httpMessage && socket.bytesRead === bytesRead) socket.destroy();
    });
  };
}
