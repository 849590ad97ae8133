// Draining a server without failing a request (node-notes.md measured 0 failures with exactly this; plain
// http.Server#close() on Node 20 resets requests because it also closes "idle" connections whose request
// is on the way):
//   1. stop accepting: net.Server.prototype.close (not http's close, which closes idle connections first);
//   2. every response not yet started, and every later one, says Connection: close, so each keep-alive
//      connection ends after its current request;
//   3. a connection seen idle (no response in progress) for the server's keepAliveTimeout is closed (as
//      Node does anyway, and also when keepAliveTimeout is 0). The client was told that timeout in the
//      Keep-Alive header, so it does not send on such a connection any more;
//   4. the server's 'close' event (and the promise) come when the last connection is gone.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Server, type Socket } from 'node:net';

const IDLE_CHECK_MS = 250;
const DEFAULT_KEEP_ALIVE_MS = 5000;

interface State {
  connections: Set<Socket>;
  draining?: Promise<void>;
}

/** Node's http server keeps the response a socket is busy with in socket._httpMessage (null when idle). */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

const states = new WeakMap<Server, State>();

/**
 * Start following a server's connections, so a later drain knows them. Call it before the server accepts
 * (the preload and tsdaemon/app's listen() do). Idempotent. Nothing happens per request until a drain
 * starts: a serving app pays for one listener per connection, not per request.
 */
export function track(server: Server): void {
  if (states.has(server)) return;
  const state: State = { connections: new Set() };
  states.set(server, state);
  server.prependListener('connection', (socket: Socket) => {
    state.connections.add(socket);
    socket.once('close', () => state.connections.delete(socket));
  });
}

export function isTracked(server: Server): boolean {
  return states.has(server);
}

export function isDraining(server: Server): boolean {
  return states.get(server)?.draining !== undefined;
}

/**
 * Drain server: stop accepting, let every in-flight request finish with Connection: close, close idle
 * connections, and resolve once the last connection is gone. Idempotent; safe on an untracked server
 * (it is tracked from now on).
 */
export function drain(server: Server): Promise<void> {
  track(server);
  const state = states.get(server) as State;
  if (state.draining) return state.draining;
  state.draining = new Promise((resolve) => {
    if (!server.listening && state.connections.size === 0) {
      resolve();
      return;
    }
    // Prepended, so it runs before the app's own handler: a handler that answers synchronously would
    // otherwise have sent its headers (keep-alive) before Connection: close could be added.
    const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('connection', 'close');
    };
    server.prependListener('request', onRequest);
    server.once('close', () => {
      clearInterval(timer);
      server.off('request', onRequest);
      resolve();
    });
    for (const socket of state.connections as Set<HttpSocket>) {
      const res = socket._httpMessage;
      if (res && !res.headersSent) res.setHeader('connection', 'close');
    }
    // A connection counts as idle from the first look that finds no response on it (at the latest, from
    // now): the keep-alive timeout is then counted from a moment it surely was idle, never too early.
    const idleSince = new Map<Socket, number>();
    const keepAliveMs = (server as { keepAliveTimeout?: number }).keepAliveTimeout || DEFAULT_KEEP_ALIVE_MS;
    const look = () => {
      const now = Date.now();
      for (const socket of state.connections as Set<HttpSocket>) {
        if (socket._httpMessage) {
          idleSince.delete(socket);
          continue;
        }
        const since = idleSince.get(socket);
        if (since === undefined) idleSince.set(socket, now);
        else if (now - since >= keepAliveMs) socket.destroy();
      }
    };
    look();
    const timer = setInterval(look, IDLE_CHECK_MS);
    timer.unref();
    // Stop accepting; 'close' follows when the last connection ends.
    if (server.listening) NetServer.prototype.close.call(server);
    else if (state.connections.size === 0) server.emit('close');
  });
  return state.draining;
}
