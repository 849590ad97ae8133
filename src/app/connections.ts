// The connections of a server, followed from the moment it starts accepting, and what each one is when a
// drain looks at it. Following costs one listener per connection (per TLS handshake, per HTTP/2 session),
// never anything per request.
//
// A connection is one of:
//   http1   an HTTP/1.x connection of an http(s) server: Node's HTTP parser is attached to the socket
//           (socket.parser). The response in progress, if any, is socket._httpMessage;
//   http2   an HTTP/2 session (node:http2 createServer, h2c, or createSecureServer);
//   stream  anything else: a connection upgraded away from HTTP (WebSocket: Node frees the parser and
//           sets socket.parser = null), a raw net.Server connection (never had a parser), or a TLS
//           connection still in its handshake. A drain never takes these for idle keep-alive connections.
// The kind is decided at each look, not once: a TLS handshake ends, an HTTP/1 connection may upgrade.

import type { ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Server, Socket } from 'node:net';

/** Node's HTTP/1 server keeps its parser in socket.parser and the response in progress in _httpMessage. */
export type HttpSocket = Socket & { parser?: unknown; _httpMessage?: ServerResponse | null };

/** socket is the one the protocol speaks on (the TLSSocket for TLS); raw is the accepted connection. */
export type Connection =
  | { kind: 'http1'; socket: HttpSocket; raw: Socket }
  | { kind: 'http2'; socket: Socket; raw: Socket; session: Http2Session }
  | { kind: 'stream'; socket: Socket; raw: Socket };

export interface Connections {
  /** Every open TCP (or unix) connection, as accepted. */
  raw: Set<Socket>;
  /** TLS servers: the TLSSocket that wraps a raw connection once its handshake is done. */
  tls: WeakMap<Socket, Socket>;
  /** HTTP/2 servers: the session on a connection (its raw socket, or its TLSSocket). */
  sessions: WeakMap<Socket, Http2Session>;
  /** Every open HTTP/2 session. */
  openSessions: Set<Http2Session>;
}

// On the server object under a registered symbol, so that two copies of this module (the app's
// node_modules and tsdaemon's preload) follow a server once and drain it once.
const CONNECTIONS = Symbol.for('tsdaemon.connections');
type Followed = Server & { [CONNECTIONS]?: Connections };

/**
 * Start following a server's connections, so a later drain knows them. Call it before the server accepts
 * (the preload and tsdaemon/app's listen() do). Idempotent.
 */
export function track(server: Server): Connections {
  const followed = server as Followed;
  const existing = followed[CONNECTIONS];
  if (existing) return existing;
  const state: Connections = {
    raw: new Set(),
    tls: new WeakMap(),
    sessions: new WeakMap(),
    openSessions: new Set(),
  };
  followed[CONNECTIONS] = state;
  // The socket whose 'connection' / 'secureConnection' is being emitted. Prepended, these listeners run
  // before Node's own, and node:http2 emits 'session' synchronously from its own listener: so a session
  // belongs to the socket seen last.
  let current: Socket | undefined;
  server.prependListener('connection', (socket: Socket) => {
    current = socket;
    state.raw.add(socket);
    socket.once('close', () => state.raw.delete(socket));
  });
  server.prependListener('secureConnection', (socket: Socket & { _parent?: Socket }) => {
    current = socket;
    if (socket._parent) state.tls.set(socket._parent, socket);
  });
  server.prependListener('session', (session: Http2Session) => {
    if (current) state.sessions.set(current, session);
    state.openSessions.add(session);
    session.once('close', () => state.openSessions.delete(session));
  });
  return state;
}

/** What each open connection of a followed server is now. */
export function* connectionsOf(state: Connections): Generator<Connection> {
  for (const raw of state.raw) {
    const socket = state.tls.get(raw) ?? raw;
    const session = state.sessions.get(socket);
    if (session) yield { kind: 'http2', socket, raw, session };
    else if ((socket as HttpSocket).parser) yield { kind: 'http1', socket, raw };
    else yield { kind: 'stream', socket, raw };
  }
}
