// Node launchers (`npm start`, `yarn start`, `pnpm start` up to pnpm 10, `npx`, `tsx`, `fork()`) and
// tsdaemon's sockets.
//
// Who closes them: Node itself. Every Node process, before any JavaScript runs, calls libuv's
// uv_disable_stdio_inheritance() (from node::InitializeNodeWithArgsInternal), which sets FD_CLOEXEC on
// fds 0-15 and on every open fd above them up to the first one that is not open. (Seen with
// `strace -f -k -e trace=fcntl node -e 0` and fd 3 inherited: `fcntl(3, F_SETFD, FD_CLOEXEC)` from
// uv_disable_stdio_inheritance <- node::InitializeNodeWithArgsInternal <- node::Start.) Neither libuv's
// uv_spawn nor npm, yarn or tsx close an fd; they spawn with stdio 'inherit', fds 0-2 only. So a Node
// launcher still holds fds 3, 4, … but the kernel closes them at the execve() of the program it starts,
// which then binds PORT itself and fails with EADDRINUSE.
//
// What this module does about it, in every Node process of the child's tree that starts a program
// (ChildProcess#spawn, behind spawn, exec, execFile and fork) while it does not serve on the sockets itself:
// - clear FD_CLOEXEC on the listening sockets and on the ready fd (native addon) for the moment the program
//   starts (set again once it has exec'd), so the program gets them at the same numbers: a Node app through the preload, a LISTEN_FDS-aware server on fd 3, a self-binding one
//   through the bind shim, all as if started directly;
// - a program whose stdio puts something else at one of those numbers (tsx and fork() put an IPC channel
//   at fd 3) gets a copy at fd 10 or above instead, named in its TSDAEMON_LISTENERS / TSDAEMON_READY_FD; its
//   LISTEN_FDS, which would name the wrong fds, is removed.
// A process that serves on the sockets never passes them on: a helper it spawns must not hold them.
// When the sockets did not arrive anyway (no addon, or a shell in between that closes fds), a listen() on
// a port tsdaemon holds fails with EADDRINUSE as before, and one line on stderr says why and what to do.

import { ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';
import net from 'node:net';
import { inheritedListeners, socketInode } from '../app/inherited.js';
import {
  ENV_LISTEN_FDNAMES,
  ENV_LISTEN_FDS,
  ENV_LISTEN_PID,
  ENV_LISTENERS,
  ENV_READY_FD,
  ENV_STOP_SIGNAL,
  type ListenerInfo,
  parseListenersEnv,
} from '../child-protocol.js';
import { loadNative } from '../os/native.js';
import { relayStopToGroup } from './launcher-stop.js';

/** Copies of sockets that a program's own stdio would cover are made at this fd or above. */
export const SPARE_MIN_FD = 10;

interface SpawnOptions {
  stdio?: unknown;
  envPairs?: string[];
}

/** Whether the program's stdio puts something other than fd itself at fd. */
function covers(stdio: unknown, fd: number): boolean {
  return Array.isArray(stdio) && fd < stdio.length && stdio[fd] !== fd && stdio[fd] != null;
}

function setVariable(pairs: string[], name: string, value: string | undefined): void {
  const at = pairs.findIndex((pair) => pair.startsWith(`${name}=`));
  if (at >= 0) pairs.splice(at, 1);
  if (value !== undefined) pairs.push(`${name}=${value}`);
}

/** Why a listen() on a held port failed here, for the one line on stderr. */
function lostReason(env: NodeJS.ProcessEnv): string {
  if (Number(env[ENV_LISTEN_PID]) === process.pid)
    return 'the socket is no longer at its fd (this program closed or replaced it)';
  const { error } = loadNative();
  if (error)
    return `the Node launcher between tsdaemon and this program (npm, yarn, npx, tsx …) could not pass it on: ${error}; or start the server directly (tsdaemon … -- node server.js)`;
  return 'a program between tsdaemon and this one closed it (a shell script that closes fds, or a launcher other than Node); let it pass fds 3, 4, … on, exec the server from it, or start the server directly';
}

/**
 * The sockets this process has (as inheritedListeners()), after arranging that a program it starts gets
 * them too. Call once, before the preload patches listen().
 */
export function launcherListeners(env: NodeJS.ProcessEnv = process.env): ListenerInfo[] {
  const held = inheritedListeners(env);
  const lost = parseListenersEnv(env[ENV_LISTENERS]).filter((l) => !held.some((h) => h.fd === l.fd));
  if (held.length === 0 && lost.length === 0) return held;
  let serving = false;
  let relaying: (() => void) | undefined;

  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function launcherListen(this: net.Server, ...args: unknown[]) {
    const fd = (args[0] as { fd?: unknown } | null | undefined)?.fd;
    if (held.some((l) => l.fd === fd) && !serving) {
      serving = true;
      relaying?.();
    }
    if (lost.length > 0) explainLost(this);
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;

  const explainLost = (server: net.Server) => {
    const emit = server.emit;
    server.emit = function emitWithReason(this: net.Server, event: string | symbol, ...rest: unknown[]) {
      const error = rest[0] as NodeJS.ErrnoException & { port?: number; address?: string };
      const listener =
        event === 'error' && error?.code === 'EADDRINUSE'
          ? lost.find((l) => (l.port !== undefined && l.port === error.port) || l.path === error.address)
          : undefined;
      if (listener) {
        const what = listener.path ?? `port ${listener.port}`;
        writeSync(
          2,
          `tsdaemon: listen on ${what} failed with EADDRINUSE: tsdaemon holds it (--listen ${listener.name}, fd ${listener.fd}) but this process (pid ${process.pid}) did not inherit the socket: ${lostReason(env)}\n`,
        );
      }
      return (emit as (...a: unknown[]) => boolean).call(this, event, ...rest);
    } as typeof emit;
  };

  if (held.length === 0) return held;
  const spares = new Map<number, number>();
  const stopSignal = (env[ENV_STOP_SIGNAL] || 'SIGTERM') as NodeJS.Signals;
  let unclean = 0;
  // Not in Node's types, but what spawn(), exec(), execFile() and fork() all call, on Node 20 to 26.
  const prototype = ChildProcess.prototype as unknown as {
    spawn: (this: ChildProcess, options: SpawnOptions) => unknown;
  };
  const spawn = prototype.spawn;
  prototype.spawn = function launcherSpawn(this: ChildProcess, options: SpawnOptions) {
    if (serving || !options?.envPairs) return spawn.call(this, options);
    relaying ??= relayStopToGroup(stopSignal, () => unclean === 0) ?? (() => {});
    this.once('exit', (code, signal) => {
      if (code !== 0 && signal !== stopSignal) unclean++;
    });
    const passed = passOn(options);
    try {
      return spawn.call(this, options);
    } finally {
      // libuv's spawn returns once the program has exec'd (or failed to): close-on-exec again, so that only
      // the programs started through here get the sockets, not those of spawnSync() or a later execve().
      const { addon } = loadNative();
      for (const fd of passed) addon?.setCloexec(fd);
    }
  };

  /** Makes the sockets reach the program; returns the fds it made inheritable. */
  const passOn = (options: SpawnOptions): number[] => {
    const { addon } = loadNative();
    if (!addon) return []; // the app explains (lostReason) when its listen() fails
    const readyFd = Number(env[ENV_READY_FD]);
    const readyInode = Number.isInteger(readyFd) && readyFd > 2 ? socketInode(readyFd) : undefined;
    const ready = readyInode !== undefined && !held.some((l) => l.inode === readyInode);
    const fds = [...held.map((l) => l.fd), ...(ready ? [readyFd] : [])];
    const moved = new Map<number, number>();
    const passed: number[] = [];
    for (const fd of fds) {
      if (!covers(options.stdio, fd)) {
        if (addon.clearCloexec(fd) === 0) passed.push(fd);
        continue;
      }
      let spare = spares.get(fd);
      if (spare === undefined) {
        spare = addon.dupAbove(fd, SPARE_MIN_FD);
        if (spare < 0) continue;
        spares.set(fd, spare);
      }
      addon.clearCloexec(spare);
      passed.push(spare);
      moved.set(fd, spare);
    }
    if (moved.size === 0) return passed;
    const pairs = options.envPairs as string[];
    const listeners = held.map((l) => ({ ...l, fd: moved.get(l.fd) ?? l.fd }));
    setVariable(pairs, ENV_LISTENERS, JSON.stringify(listeners));
    if (ready && moved.has(readyFd)) setVariable(pairs, ENV_READY_FD, String(moved.get(readyFd)));
    if (held.some((l) => moved.has(l.fd))) {
      for (const name of [ENV_LISTEN_FDS, ENV_LISTEN_FDNAMES, ENV_LISTEN_PID])
        setVariable(pairs, name, undefined);
    }
    return passed;
  };
  return held;
}
