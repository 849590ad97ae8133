// Under --ready=auto: tell tsdaemon "ready" once the first adopted server listens. Under fd or ipc the
// app reports readiness itself (after its own warm-up, say).
import type { Server } from 'node:net';
import { socketInode } from '../app/inherited.js';
import { ready } from '../app/ready.js';
import { ENV_READY_FD, ENV_READY_MODE, type ListenerInfo } from '../child-protocol.js';

/** The ready fd, if it is really the socket tsdaemon gave (a grandchild may have an unrelated fd there). */
function readyFdIsOurs(held: ListenerInfo[], env: NodeJS.ProcessEnv): boolean {
  const fd = Number(env[ENV_READY_FD]);
  if (!Number.isInteger(fd) || fd < 3) return false;
  const inode = socketInode(fd);
  return inode !== undefined && !held.some((l) => l.inode === inode);
}

export function createAutoReady(held: ListenerInfo[], env: NodeJS.ProcessEnv): (server: Server) => void {
  let scheduled = (env[ENV_READY_MODE] ?? 'auto') !== 'auto';
  return (server) => {
    server.once('listening', () => {
      if (scheduled) return;
      scheduled = true;
      // Other servers listening in the same tick are ready too by the time this runs.
      // Without a ready fd that is really ours, ready() uses only the IPC channel (if any).
      setImmediate(() => ready(readyFdIsOurs(held, env) ? env : {}));
    });
  };
}
