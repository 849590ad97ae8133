// The listen and bind patches: a listen() or bind() on a port or path tsdaemon holds uses the inherited
// fd instead (no EADDRINUSE), and the server is handed to adopt(). Other calls are left alone.
import dgram from 'node:dgram';
import net from 'node:net';
import type { ListenerInfo } from '../child-protocol.js';
import { inheritedFd, matchListener, requestedTarget, trailingCallback } from './target.js';

export function patchListen(held: ListenerInfo[], adopt: (server: net.Server) => void): void {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]) {
    const listener = matchListener(requestedTarget(args), held, 'stream');
    if (!listener) {
      if (inheritedFd(args, held)) adopt(this);
      return (listen as (...a: unknown[]) => net.Server).apply(this, args);
    }
    adopt(this);
    const options = listener.backlog ? { fd: listener.fd, backlog: listener.backlog } : { fd: listener.fd };
    const callback = trailingCallback(args);
    return callback ? listen.call(this, options, callback) : listen.call(this, options);
  } as typeof listen;
}

export function patchBind(held: ListenerInfo[]): void {
  const bind = dgram.Socket.prototype.bind;
  dgram.Socket.prototype.bind = function patchedBind(this: dgram.Socket, ...args: unknown[]) {
    const listener = matchListener(requestedTarget(args), held, 'udp');
    if (!listener) return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
    const callback = trailingCallback(args);
    return callback ? bind.call(this, { fd: listener.fd }, callback) : bind.call(this, { fd: listener.fd });
  } as typeof bind;
}
