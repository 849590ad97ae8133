// Unix stream socket listeners: a stale socket file is replaced only when nothing answers on it, a path
// that is no socket is never touched, a directory other users could write to is refused, mode/owner/group
// are applied before any privilege drop (without following a symlink swapped in after the bind), and the
// file is removed on close only if it is still the one we created.
import { existsSync, lchownSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN } from '../exit-codes.js';
import { findGroup, findUser } from '../os/privilege/accounts.js';
import { unsafeDirectory } from '../os/privilege/safe-path.js';
import { type BoundHandle, bindUnix, SocketError } from '../os/sockets/socket-handles.js';
import type { UnixSpec } from './address.js';
import { listenError } from './opened.js';

/** Is something answering on this unix socket file? (A stale file from a crashed server refuses.) */
export function unixSocketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(1000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    );
  });
}

async function removeStaleUnixSocket(spec: UnixSpec): Promise<void> {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(spec.path);
  } catch {
    return;
  }
  if (!stat.isSocket()) {
    throw listenError(
      spec,
      'bind',
      'EEXIST',
      `${spec.path} exists and is not a socket; tsdaemon will not replace it`,
    );
  }
  if (await unixSocketAnswers(spec.path)) {
    throw listenError(spec, 'bind', 'EADDRINUSE', `a running process answers on ${spec.path}; stop it first`);
  }
  unlinkSync(spec.path);
}

function unixOwner(spec: UnixSpec): { uid: number; gid: number } | undefined {
  if (spec.owner === undefined && spec.group === undefined) return undefined;
  let uid = -1;
  let gid = -1;
  if (spec.owner !== undefined) {
    const user = findUser(spec.owner);
    if (!user) throw listenError(spec, 'chown', 'ENOENT', `no user '${spec.owner}' on this machine`);
    uid = user.uid;
  }
  if (spec.group !== undefined) {
    const group = findGroup(spec.group);
    if (!group) throw listenError(spec, 'chown', 'ENOENT', `no group '${spec.group}' on this machine`);
    gid = group.gid;
  }
  return { uid, gid };
}

export async function openUnix(
  spec: UnixSpec,
): Promise<{ handle: BoundHandle; close: () => void; removeFile: () => void }> {
  const owner = unixOwner(spec);
  const unsafe = unsafeDirectory(spec.path);
  if (unsafe) {
    throw new TsdaemonError(
      'listen-unsafe-directory',
      `cannot bind --listen=${spec.raw}: ${unsafe}; choose a directory only root or tsdaemon's user can write to`,
      EXIT_LISTEN,
    );
  }
  await removeStaleUnixSocket(spec);
  let handle: BoundHandle;
  // mode= through the umask: the file is made with it, so no chmod by name follows (a chmod could follow a
  // symlink that replaced the socket file in the meantime).
  const umask = spec.mode === undefined ? undefined : process.umask(0o777 & ~spec.mode);
  try {
    handle = bindUnix(spec.path);
  } catch (error) {
    if (!(error instanceof SocketError)) throw error;
    // libuv reports a missing directory as EACCES too: tell the two apart.
    const directory = dirname(spec.path);
    if (!existsSync(directory)) {
      throw listenError(spec, 'bind', 'ENOENT', `the directory ${directory} does not exist; create it first`);
    }
    const fix = error.code === 'EACCES' ? `no write permission on ${directory}` : `check ${directory}`;
    throw listenError(spec, 'bind', error.code, fix);
  } finally {
    if (umask !== undefined) process.umask(umask);
  }
  const created = lstatSync(spec.path);
  // Remove the file on close, but only if it is still the one we created (not a successor's).
  const removeFile = () => {
    try {
      const now = lstatSync(spec.path);
      if (now.ino === created.ino && now.dev === created.dev) unlinkSync(spec.path);
    } catch {
      // Already gone.
    }
  };
  try {
    // Before any privilege drop: afterwards the file could no longer be changed. lchown: a symlink put in
    // place of the socket would be changed itself, never what it points to.
    if (owner) lchownSync(spec.path, owner.uid, owner.gid);
  } catch (error) {
    handle.close();
    removeFile();
    const errno = (error as NodeJS.ErrnoException).code ?? 'EPERM';
    throw listenError(spec, 'chmod/chown', errno, 'owner= and group= need root');
  }
  return {
    handle,
    close: () => {
      handle.close();
      removeFile();
    },
    removeFile,
  };
}
