// Draining a server without failing a request (node-notes.md measured 0 failures with exactly this; plain
// http.Server#close() on Node 20 resets requests because it also closes "idle" connections whose request
// is on the way):
//   1. stop accepting: net.Server.prototype.close (not http's close, which closes idle connections first);
//   2. every response not yet started, and every later one, says Connection: close, so each keep-alive
//      connection ends after its current request;
//   3. a connection that stays idle as long as the server's keepAliveTimeout is closed (as Node does anyway,
//      and also when keepAliveTimeout is 0);
//   4. the server's 'close' event (and the promise) come when the last connection is gone.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Server, type Socket } from 'node:net';

const IDLE_CHECK_MS = 250;
const DEFAULT_KEEP_ALIVE_MS = 5000;

interface Connection {
  active: number;
  idleSince: number;
}

interface State {
  connections: Map<Socket, Connection>;
  responses: Set<ServerResponse>;
  draining?: Promise<void>;
}

const states = new WeakMap<Server, State>();

/**
 * Start following a server's connections and responses, so a later drain knows them. Call it before the
 * server accepts (the preload and tsdaemon/app's listen() do). Idempotent.
 */
export function track(server: Server): void {
  if (states.has(server)) return;
  const state: State = { connections: new Map(), responses: new Set() };
  states.set(server, state);
  // Prepended, so they run before the app's own handlers: a handler that answers synchronously would
  // otherwise have sent its headers (keep-alive) before a drain could add Connection: close.
  server.prependListener('connection', (socket: Socket) => {
    state.connections.set(socket, { active: 0, idleSince: Date.now() });
    socket.once('close', () => state.connections.delete(socket));
  });
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    const connection = state.connections.get(res.socket as Socket);
    if (connection) connection.active++;
    state.responses.add(res);
    if (state.draining && !res.headersSent) res.setHeader('connection', 'close');
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      state.responses.delete(res);
      if (connection) {
        connection.active--;
        connection.idleSince = Date.now();
      }
    };
    res.once('finish', done);
    res.once('close', done);
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
    server.once('close', () => {
      clearInterval(timer);
      resolve();
    });
    for (const res of state.responses) if (!res.headersSent) res.setHeader('connection', 'close');
    const keepAliveMs = (server as { keepAliveTimeout?: number }).keepAliveTimeout || DEFAULT_KEEP_ALIVE_MS;
    const timer = setInterval(() => {
      const now = Date.now();
      for (const [socket, connection] of state.connections) {
        if (connection.active === 0 && now - connection.idleSince >= keepAliveMs) socket.destroy();
      }
    }, IDLE_CHECK_MS);
    timer.unref();
    // Stop accepting; 'close' follows when the last connection ends.
    if (server.listening) NetServer.prototype.close.call(server);
    else if (state.connections.size === 0) server.emit('close');
  });
  return state.draining;
}
