// Which inherited socket a listen() or bind() call asks for, in any of Node's argument forms.
import { resolve } from 'node:path';
import type { ListenerInfo } from '../child-protocol.js';

export type Target = { port: number } | { path: string };

/** What a listen()/bind() call asks for; undefined for listen(0), {fd}, {handle} and the like. */
export function requestedTarget(args: unknown[]): Target | undefined {
  const [first] = args;
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
  return portTarget(first);
}

function portTarget(value: unknown): Target | undefined {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 ? { port } : undefined;
}

/** The held socket for target: the first of that kind with that port, or the unix socket at that path. */
export function matchListener(
  target: Target | undefined,
  held: ListenerInfo[],
  kind: 'stream' | 'udp',
): ListenerInfo | undefined {
  if (!target) return undefined;
  if ('path' in target) return held.find((l) => l.kind === 'unix' && l.path === resolve(target.path));
  return held.find((l) => l.port === target.port && (kind === 'udp' ? l.kind === 'udp' : l.kind === 'tcp'));
}

/** The fd a listen({fd}) call names, when it is one of the inherited sockets (e.g. from tsdaemon/app). */
export function inheritedFd(args: unknown[], held: ListenerInfo[]): ListenerInfo | undefined {
  const fd = (args[0] as { fd?: unknown } | null | undefined)?.fd;
  return typeof fd === 'number' ? held.find((l) => l.fd === fd) : undefined;
}

export function trailingCallback(args: unknown[]): (() => void) | undefined {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as () => void) : undefined;
}
