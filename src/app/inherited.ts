// Which sockets this process inherited from tsdaemon (TSDAEMON_LISTENERS) or from plain systemd socket
// activation (LISTEN_FDS + LISTEN_FDNAMES with LISTEN_PID = our pid). Each fd is checked to still be the
// same socket (its inode), so a grandchild that did not inherit the fds never uses an unrelated fd 3.
import { fstatSync } from 'node:fs';
import {
  ENV_LISTEN_FDNAMES,
  ENV_LISTEN_FDS,
  ENV_LISTEN_PID,
  ENV_LISTENERS,
  FIRST_LISTEN_FD,
  type ListenerInfo,
  parseListenersEnv,
} from '../child-protocol.js';

/**
 * The inode of the socket at fd, or undefined when fd is not an open socket. With bigint stats on purpose:
 * Node keeps the result of a plain fstatSync() in an array that its module loader's realpath also reads,
 * and when the last stat there was a socket's, realpath stops at the first directory it has cached: in the
 * preload, before the app's main module resolves, that left a symlinked main unresolved
 * (node_modules/.bin/yarn loaded as itself, so its require('../lib/cli') failed). Node 20 to 26.
 */
export function socketInode(fd: number): number | undefined {
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.isSocket() ? Number(stat.ino) : undefined;
  } catch {
    return undefined;
  }
}

function isSameSocket(fd: number, inode: number | undefined): boolean {
  const actual = socketInode(fd);
  return actual !== undefined && (inode === undefined || inode === 0 || actual === inode);
}

export function inheritedListeners(env: NodeJS.ProcessEnv = process.env, pid = process.pid): ListenerInfo[] {
  const fromTsdaemon = parseListenersEnv(env[ENV_LISTENERS]);
  if (fromTsdaemon.length > 0) return fromTsdaemon.filter((l) => isSameSocket(l.fd, l.inode));
  const count = Number(env[ENV_LISTEN_FDS]);
  if (Number(env[ENV_LISTEN_PID]) !== pid || !Number.isInteger(count) || count <= 0) return [];
  const names = (env[ENV_LISTEN_FDNAMES] ?? '').split(':');
  const out: ListenerInfo[] = [];
  for (let i = 0; i < count; i++) {
    const fd = FIRST_LISTEN_FD + i;
    // systemd does not say the kind; only stream sockets can back a net.Server, which is what we serve.
    if (isSameSocket(fd, undefined)) out.push({ name: names[i] || `fd${fd}`, fd, kind: 'tcp' });
  }
  return out;
}
