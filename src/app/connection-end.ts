// Ending the connections still open at the drain's close time (the lame-duck deadline less the margin),
// each the cleanest way its protocol allows, and always with a FIN, never a reset:
//   http1   a response in progress (server-sent events, a long download) is ended with res.end(): a
//           chunked response ends with its last chunk, so the client sees it complete. Then the socket
//           is ended. A request that has no response yet gets none: the client sees the connection close;
//   http2   every open stream gets END_STREAM, or CANCEL if it never answered (./http2-session.ts);
//   stream  a WebSocket of the `ws` library (found on the socket under ws's own symbol "websocket") is
//           closed through ws with 1001 (going away), so the client gets a close frame and a clean
//           close; any other upgraded or raw connection is ended (a WebSocket client of another server
//           library then sees 1006, a closed connection without a close frame).
// endConnection only starts these; what has not closed a short grace later is destroyed.
import type { Socket } from 'node:net';
import type { Connection } from './connections.js';
import { endSession } from './http2-session.js';

/** 1001 "going away": the endpoint is going away, such as a server going down (RFC 6455, 7.4.1). */
export const WEBSOCKET_GOING_AWAY = 1001;
const WEBSOCKET_OPEN = 1;

interface WebSocketLike {
  readyState: number;
  close(code?: number, reason?: string): void;
}

/** The `ws` WebSocket that owns socket, if any (ws sets socket[Symbol('websocket')] on its sockets). */
function webSocketOf(socket: Socket): WebSocketLike | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'websocket');
  const candidate = key && (socket as unknown as Record<symbol, unknown>)[key];
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const ws = candidate as WebSocketLike;
  return typeof ws.close === 'function' && typeof ws.readyState === 'number' ? ws : undefined;
}

const ignore = () => {};

export function endConnection(connection: Connection): void {
  const { socket } = connection;
  if (socket.destroyed) return;
  if (connection.kind === 'http2') {
    endSession(connection.session);
    return;
  }
  if (connection.kind === 'http1') {
    const res = connection.socket._httpMessage;
    if (res?.headersSent && !res.writableEnded) {
      // The app may go on writing to it (an SSE timer): that must not become an uncaught error.
      res.on('error', ignore);
      res.end();
    }
    socket.end();
    return;
  }
  const ws = webSocketOf(socket);
  if (ws?.readyState === WEBSOCKET_OPEN) ws.close(WEBSOCKET_GOING_AWAY);
  else if (!ws) socket.end();
}

/** The last resort, a short grace after endConnection: close the fd (a FIN unless data is unread). */
export function destroyConnection(connection: Connection): void {
  if (connection.kind === 'http2') connection.session.destroy();
  connection.socket.destroy();
  connection.raw.destroy();
}
