// Loaded into every Node child through NODE_OPTIONS=--import (turn off with --no-preload). For an
// unmodified app it does three things:
// - listen: app.listen(8080) / server.listen(process.env.PORT) / listen('/run/app.sock') on a port or path
//   tsdaemon holds listens on the inherited fd instead (no EADDRINUSE). Other listens are left alone. The
//   same goes for dgram's bind() on a held UDP port.
// - ready: under --ready=auto, once such a server listens, it tells tsdaemon (READY=1 on TSDAEMON_READY_FD,
//   or IPC). Under --ready=fd or ipc the app says it is ready itself, when it is.
// - drain: on the stop signal every such server drains without failing a request (../app/drain.ts), also
//   when the app itself calls plain server.close(); an app with no handler of its own then exits 0.

import dgram from 'node:dgram';
import { fstatSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { resolve } from 'node:path';
import { drain, isTracked, track } from '../app/drain.js';
import { ready } from '../app/ready.js';
import {
  ENV_PRELOAD,
  ENV_READY_FD,
  ENV_READY_MODE,
  ENV_STOP_SIGNAL,
  type ListenerInfo,
} from '../protocol.js';
import { launcherListeners } from './launcher.js';

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

/** The fd a listen({fd}) call names, when it is one of the inherited sockets (e.g. from tsdaemon/app). */
function inheritedFd(args: unknown[], held: ListenerInfo[]): ListenerInfo | undefined {
  const fd = (args[0] as { fd?: unknown } | null | undefined)?.fd;
  return typeof fd === 'number' ? held.find((l) => l.fd === fd) : undefined;
}

/** The ready fd, if it is really the socket tsdaemon gave (a grandchild may have an unrelated fd there). */
function readyFdIsOurs(held: ListenerInfo[]): boolean {
  const fd = Number(process.env[ENV_READY_FD]);
  if (!Number.isInteger(fd) || fd < 3) return false;
  try {
    const stat = fstatSync(fd);
    return stat.isSocket() && !held.some((l) => l.inode === stat.ino);
  } catch {
    return false;
  }
}

function install(held: ListenerInfo[]): void {
  const stopSignal = (process.env[ENV_STOP_SIGNAL] || 'SIGTERM') as NodeJS.Signals;
  const servers = new Set<net.Server>();
  // Only under auto: with fd or ipc the app reports readiness itself (after its own warm-up, say).
  let readyScheduled = (process.env[ENV_READY_MODE] ?? 'auto') !== 'auto';
  let stopping = false;

  const onStop = () => {
    if (stopping) return;
    stopping = true;
    const drained = Promise.all([...servers].map((server) => drain(server)));
    // With no handler of its own the app would have died of the signal: end it once drained instead.
    if (process.listenerCount(stopSignal) === 1) drained.then(() => process.exit(0));
  };

  const adopt = (server: net.Server) => {
    track(server);
    servers.add(server);
    if (servers.size === 1) process.on(stopSignal, onStop);
    server.once('listening', () => {
      if (readyScheduled) return;
      readyScheduled = true;
      // Other servers listening in the same tick are ready too by the time this runs.
      // Without a ready fd that is really ours, ready() uses only the IPC channel (if any).
      setImmediate(() => ready(readyFdIsOurs(held) ? process.env : {}));
    });
  };

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

  // http(s).Server#close() first closes "idle" connections, which resets requests still on their way
  // (node-notes.md). For servers on inherited sockets, close() drains instead; its callback still runs
  // once the server is closed.
  for (const Server of [http.Server, https.Server] as unknown as (typeof net.Server)[]) {
    const close = Server.prototype.close as (
      this: net.Server,
      callback?: (error?: Error) => void,
    ) => net.Server;
    Server.prototype.close = function patchedClose(this: net.Server, callback?: (error?: Error) => void) {
      if (!isTracked(this)) return close.call(this, callback);
      if (callback) this.once('close', () => callback());
      drain(this);
      return this;
    };
  }

  const bind = dgram.Socket.prototype.bind;
  dgram.Socket.prototype.bind = function patchedBind(this: dgram.Socket, ...args: unknown[]) {
    const listener = matchListener(requestedTarget(args), held, 'udp');
    if (!listener) return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
    const callback = trailingCallback(args);
    return callback ? bind.call(this, { fd: listener.fd }, callback) : bind.call(this, { fd: listener.fd });
  } as typeof bind;
}

if (process.env[ENV_PRELOAD] !== '0') {
  // Also passes the sockets on when this process is a launcher (npm start, npx, tsx): ./launcher.ts.
  const held = launcherListeners();
  if (held.length > 0) install(held);
}
