// The one module that touches Node internals to bind a socket *without* listening on it.
//
// Why: a Node process that listens on a socket also accepts on it (libuv's uv_listen starts an accept loop;
// measured: 40-50 % of 10,000 connections were swallowed by a parent that listened only to hand the fd on). So the supervisor only binds, through
// net._createServerHandle (what `cluster` uses for shared handles; it returns a negative errno instead of
// throwing), and a one-shot helper process puts the socket into the LISTEN state (listen-helper.ts).
// UDP sockets are bound with dgram and their receive loop is stopped in the same tick it was started, so the
// supervisor never reads a datagram. Everything here is feature-detected: a Node without the internal fails
// with a clear message instead of a TypeError.
import type dgram from 'node:dgram';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** A bound socket owned by the supervisor; fd is what the child inherits. */
export interface BoundHandle {
  fd: number;
  /** The address the kernel actually bound (port 0 becomes the real port). */
  local(): { host: string; port: number } | undefined;
  close(): void;
}

interface RawHandle {
  fd: number;
  close(): void;
  getsockname?(out: { address?: string; port?: number }): number;
  recvStop?(): number;
}

type CreateServerHandle = (
  address: string | null,
  port: number | null,
  addressType: number | null,
  fd?: number,
  flags?: number,
) => RawHandle | number;

/** A system error as Node makes them: message "bind EADDRINUSE", code "EADDRINUSE". */
export class SocketError extends Error {
  constructor(
    readonly syscall: string,
    readonly code: string,
  ) {
    super(`${syscall} ${code}`);
  }
}

function internal(): CreateServerHandle {
  const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof create !== 'function') {
    throw new Error(
      `this Node.js (${process.version}) lacks net._createServerHandle; tsdaemon needs Node 20.19 to 26`,
    );
  }
  return create;
}

function wrap(handle: RawHandle): BoundHandle {
  return {
    fd: handle.fd,
    local() {
      const out: { address?: string; port?: number } = {};
      if (handle.getsockname?.(out) !== 0 || out.address === undefined) return undefined;
      return { host: out.address, port: out.port ?? 0 };
    },
    close: () => handle.close(),
  };
}

function check(result: RawHandle | number, syscall: string): BoundHandle {
  if (typeof result === 'number') throw new SocketError(syscall, getSystemErrorName(result));
  return wrap(result);
}

// libuv's uv_tcp_bind flags (uv.h): UV_TCP_IPV6ONLY = 1, UV_TCP_REUSEPORT = 2 (libuv >= 1.49, Node >= 22.12).
const UV_TCP_IPV6ONLY = 1;
const UV_TCP_REUSEPORT = 2;

/** Whether this Node can set SO_REUSEPORT (the reusePort listen option arrived in 22.12 and 23.1). */
export function supportsReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** Bind a TCP socket. host '' binds :: (dual stack), falling back to 0.0.0.0 on a machine without IPv6. */
export function bindTcp(
  host: string,
  port: number,
  family: 4 | 6,
  opts: { reuseport: boolean; ipv6only: boolean },
) {
  const flags = (opts.ipv6only ? UV_TCP_IPV6ONLY : 0) | (opts.reuseport ? UV_TCP_REUSEPORT : 0);
  const handle =
    host === ''
      ? check(internal()(null, port, null, undefined, flags), 'bind')
      : check(internal()(host, port, family, undefined, flags), 'bind');
  // libuv keeps an EADDRINUSE from bind(2) as a "delayed error" that only its own listen() reports. Our
  // listen happens in another process, on a fresh handle that knows nothing of it, and would silently
  // listen on a random port instead. An unbound socket has port 0: that is the failed bind.
  if ((handle.local()?.port ?? 0) === 0) {
    handle.close();
    throw new SocketError('bind', 'EADDRINUSE');
  }
  return handle;
}

/** Bind a unix stream socket at path (which must not exist). */
export function bindUnix(path: string): BoundHandle {
  return check(internal()(path, -1, -1), 'bind');
}

/** The internal handle behind a dgram.Socket (its `_handle` getter is deprecated and gone in Node 26). */
function udpHandleOf(socket: dgram.Socket): RawHandle | undefined {
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: RawHandle } | undefined>)[symbol];
    if (state && typeof state === 'object' && state.handle && typeof state.handle.recvStop === 'function') {
      return state.handle;
    }
  }
  return undefined;
}

/** Bind a UDP socket without ever reading from it. */
export async function bindUdp(
  host: string,
  port: number,
  family: 4 | 6,
  opts: { reuseport: boolean; ipv6only: boolean },
): Promise<BoundHandle> {
  // Loaded only for a UDP listener: a supervisor without one does not carry the module.
  const { default: dgram } = await import('node:dgram');
  return new Promise((resolve, reject) => {
    const type = family === 6 || host === '' ? 'udp6' : 'udp4';
    const socketOptions: dgram.SocketOptions & { reusePort?: boolean } = { type, ipv6Only: opts.ipv6only };
    if (opts.reuseport) socketOptions.reusePort = true;
    const socket = dgram.createSocket(socketOptions);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      if (host === '' && type === 'udp6' && error.code === 'EAFNOSUPPORT') {
        bindUdp('0.0.0.0', port, 4, opts).then(resolve, reject);
        return;
      }
      reject(new SocketError('bind', error.code ?? 'EINVAL'));
    });
    // 'listening' is emitted synchronously right after recvStart(); stopping here, before the event loop
    // polls again, means no datagram is ever read by the supervisor.
    socket.once('listening', () => {
      const handle = udpHandleOf(socket);
      if (!handle) {
        socket.close();
        reject(new Error(`cannot find the UDP handle of a dgram socket on Node ${process.version}`));
        return;
      }
      handle.recvStop?.();
      socket.unref();
      const address = socket.address();
      resolve({
        fd: handle.fd,
        local: () => ({ host: address.address, port: address.port }),
        close: () => socket.close(),
      });
    });
    socket.bind({ port, address: host === '' ? '::' : host, exclusive: true });
  });
}

// Handles wrapped around inherited fds stay referenced here: closing one would close the fd.
const adopted: RawHandle[] = [];

/**
 * What a stream socket fd is, asked through libuv (for sockets /proc/net does not list, such as a TCP
 * socket that is bound but not yet listening). The fd stays open and owned by the returned description.
 */
export function describeStreamFd(
  fd: number,
): { kind: 'tcp' | 'unix'; host?: string; port?: number; path?: string } | undefined {
  const handle = internal()(null, null, null, fd);
  if (typeof handle === 'number') return undefined;
  adopted.push(handle);
  const out: { address?: string; port?: number; family?: string } = {};
  if (handle.getsockname?.(out) !== 0) return { kind: 'unix' };
  if (out.port === undefined && out.family === undefined)
    return out.address ? { kind: 'unix', path: out.address } : { kind: 'unix' };
  return { kind: 'tcp', host: out.address ?? '', port: out.port ?? 0 };
}
