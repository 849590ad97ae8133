// Loaded into every Node child through NODE_OPTIONS=--import (turn off with --no-preload). It lets an
// unmodified app keep calling app.listen(8080) / server.listen(process.env.PORT) / listen('/run/app.sock'):
// when the port or path is one tsdaemon holds, the call listens on the inherited fd instead, so it does not
// fail with EADDRINUSE. Any other listen() is left alone. The same goes for dgram's bind() on a held UDP port.
import dgram from 'node:dgram';
import net from 'node:net';
import { resolve } from 'node:path';
import { inheritedListeners } from '../app/inherited.js';
import { ENV_PRELOAD, type ListenerInfo } from '../protocol.js';

type Target = { port: number } | { path: string };

/** What a listen()/bind() call asks for, in any of Node's argument forms. */
export function requestedTarget(args: unknown[]): Target | undefined {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = first as {
      port?: unknown;
      path?: unknown;
      fd?: unknown;
      handle?: unknown;
      _handle?: unknown;
    };
    if (options.fd !== undefined || options.handle !== undefined || options._handle !== undefined)
      return undefined;
    if (typeof options.path === 'string') return { path: options.path };
    return portTarget(options.port);
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  void second;
  return portTarget(first);
}

function portTarget(value: unknown): Target | undefined {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 ? { port } : undefined;
}

export function matchListener(
  target: Target | undefined,
  held: ListenerInfo[],
  kind: 'stream' | 'udp',
): ListenerInfo | undefined {
  if (!target) return undefined;
  if ('path' in target) return held.find((l) => l.kind === 'unix' && l.path === resolve(target.path));
  return held.find((l) => l.port === target.port && (kind === 'udp' ? l.kind === 'udp' : l.kind === 'tcp'));
}

function trailingCallback(args: unknown[]): (() => void) | undefined {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as () => void) : undefined;
}

function install(held: ListenerInfo[]): void {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]) {
    const listener = matchListener(requestedTarget(args), held, 'stream');
    if (!listener) return (listen as (...a: unknown[]) => net.Server).apply(this, args);
    const options = listener.backlog ? { fd: listener.fd, backlog: listener.backlog } : { fd: listener.fd };
    const callback = trailingCallback(args);
    return callback ? listen.call(this, options, callback) : listen.call(this, options);
  } as typeof listen;

  const bind = dgram.Socket.prototype.bind;
  dgram.Socket.prototype.bind = function patchedBind(this: dgram.Socket, ...args: unknown[]) {
    const listener = matchListener(requestedTarget(args), held, 'udp');
    if (!listener) return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
    const callback = trailingCallback(args);
    return callback ? bind.call(this, { fd: listener.fd }, callback) : bind.call(this, { fd: listener.fd });
  } as typeof bind;
}

if (process.env[ENV_PRELOAD] !== '0') {
  const held = inheritedListeners();
  if (held.length > 0) install(held);
}
