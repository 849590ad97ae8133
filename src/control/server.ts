// The supervisor's control socket (--control PATH, or PIDFILE.sock): a unix socket, mode 0600, owned by
// whoever started tsdaemon and created before any privilege drop. Unlike the --listen sockets, tsdaemon
// accepts on this one itself. See wire.ts for what goes over it.
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN } from '../exit-codes.js';
import { unixSocketAnswers } from '../listen/unix.js';
import { forEachLine } from '../os/log/output-lines.js';
import { unsafeDirectory } from '../os/privilege/safe-path.js';
import type { Supervisor } from '../supervise/interpreter.js';
import { CONTROL_COMMANDS, type ControlCommand } from './wire.js';

export interface ControlServer {
  /** Stop serving; remove the socket file unless a successor serves on that path now (keepFile). */
  close(keepFile?: boolean): void;
}

function controlError(path: string, why: string): TsdaemonError {
  return new TsdaemonError('control-socket', `cannot serve the control socket ${path}: ${why}`, EXIT_LISTEN);
}

async function clearPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw controlError(path, 'the path exists and is not a socket');
  if (await unixSocketAnswers(path)) throw controlError(path, 'another tsdaemon answers on it');
  unlinkSync(path);
}

async function answer(supervisor: Supervisor, command: ControlCommand): Promise<object> {
  switch (command) {
    case 'status':
      return { ok: true, status: supervisor.status() };
    case 'reload':
      return supervisor.reload();
    case 'stop':
      supervisor.stop();
      return { ok: true };
  }
}

/** Serve the control socket for supervisor until close(). */
export async function startControlServer(
  path: string,
  getSupervisor: () => Supervisor | undefined,
  /** A self-upgrade: the old supervisor still answers on path; this one takes the path over. */
  takeOver = false,
): Promise<ControlServer> {
  // sun_path holds 108 bytes with its NUL; a longer path would be cut silently.
  if (Buffer.byteLength(path) > 107)
    throw controlError(path, 'the path is longer than the 107 bytes a unix socket allows');
  if (!existsSync(dirname(path))) throw controlError(path, `the directory ${dirname(path)} does not exist`);
  const unsafe = unsafeDirectory(path);
  if (unsafe)
    throw controlError(path, `${unsafe}; use a directory only root or tsdaemon's user can write to`);
  if (takeOver && existsSync(path)) unlinkSync(path);
  await clearPath(path);
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let answered = false;
    void forEachLine(socket, async (line) => {
      if (answered) return;
      answered = true;
      let reply: object;
      try {
        const { command } = JSON.parse(line) as { command?: unknown };
        const supervisor = getSupervisor();
        if (!CONTROL_COMMANDS.includes(command as ControlCommand))
          reply = { ok: false, error: `unknown command ${String(command)}` };
        else if (!supervisor) reply = { ok: false, error: 'tsdaemon is still starting' };
        else reply = await answer(supervisor, command as ControlCommand);
      } catch (error) {
        reply = { ok: false, error: `bad request: ${(error as Error).message}` };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  // 0600 from the first instant (the umask; no chmod after, which would follow a symlink swapped in).
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch (error) {
    throw controlError(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  } finally {
    process.umask(umask);
  }
  server.unref();
  const created = lstatSync(path);
  return {
    close(keepFile = false) {
      // libuv unlinks a unix server's path when it is closed, even if the path now names a successor's
      // socket: after a hand-over the server is left open until this process exits.
      if (keepFile) return;
      server.close();
      try {
        const now = lstatSync(path);
        if (now.ino === created.ino) unlinkSync(path);
      } catch {
        // Gone already, or no right to remove it after a privilege drop: a stale socket is replaced next time.
      }
    },
  };
}
