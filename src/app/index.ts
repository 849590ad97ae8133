// The app-side helper: `import { listen, ready, onDrain } from 'tsdaemon/app'`. No dependencies.
//
//   const server = http.createServer(handler);
//   await listen(server, { name: 'web', port: 8080 });   // inherited "web" socket, or port 8080 alone
//   ready();
//   onDrain(() => { for (const ws of wss.clients) ws.close(1012); });   // told when the drain starts
//
// Works under tsdaemon, under plain systemd socket activation, and unsupervised (falls back to a port).
// On the stop signal, `await drain(server)` finishes every in-flight request without a reset (the
// preload does that by itself for servers on inherited sockets); onDrain() hooks run when it starts.
import type { Server } from 'node:net';
import { ENV_PORT, type ListenerInfo } from '../child-protocol.js';
import { track } from './connections.js';
import { inheritedListeners } from './inherited.js';

export type { ListenerInfo } from '../child-protocol.js';
export { type DrainOptions, drain } from './drain.js';
export { currentDrain, type DrainInfo, type DrainListener, onDrain } from './drain-clock.js';
export { ready } from './ready.js';

export interface ListenOptions {
  /** The --listen name to take; without it, the first stream socket. */
  name?: string;
  /** Unsupervised: listen on this port (default: $PORT, else an ephemeral port). */
  port?: number;
  host?: string;
  /** Unsupervised: listen on this unix socket path instead of a port. */
  path?: string;
}

/** Every socket this process inherited, in fd order. */
export function listeners(): ListenerInfo[] {
  return inheritedListeners();
}

/** True when this process runs under tsdaemon or systemd socket activation with at least one socket. */
export function isSupervised(): boolean {
  return inheritedListeners().length > 0;
}

/** The inherited socket called name (or the first stream socket), or undefined. */
export function findListener(name?: string): ListenerInfo | undefined {
  const all = inheritedListeners();
  return name === undefined ? all.find((l) => l.kind !== 'udp') : all.find((l) => l.name === name);
}

/**
 * Make server listen on an inherited socket, or fall back to a normal listen when there is none.
 * Resolves once the server is listening; rejects with the listen error.
 */
export function listen<S extends Server>(server: S, options: ListenOptions | string = {}): Promise<S> {
  const opts = typeof options === 'string' ? { name: options } : options;
  const inherited = findListener(opts.name);
  // Followed from the start, so that drain(server) knows every connection and response.
  track(server);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve(server);
    };
    if (inherited) server.listen({ fd: inherited.fd }, done);
    else if (opts.path !== undefined) server.listen({ path: opts.path }, done);
    else {
      const port = opts.port ?? Number(process.env[ENV_PORT] ?? 0);
      server.listen(opts.host === undefined ? { port } : { port, host: opts.host }, done);
    }
  });
}
