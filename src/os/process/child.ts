// Starting one child: its environment (the protocol of docs/protocol.md), its fds (the listening sockets at
// 3, 4, ...), its own process group, and an exec trampoline so LISTEN_PID is the child's own pid.
//
// execa 9's defaults are wrong for a supervisor, so each is set on purpose:
// - reject: false        a child killed by a signal is an event, not an exception;
// - buffer: false        a chatty long-running child must not hit maxBuffer and be killed;
// - cleanup: false       tsdaemon drains children itself, it never kills them on its own exit;
// - forceKillAfterDelay: false   execa must not SIGKILL a draining child after 5 s;
// - detached: true       own process group (and session): Ctrl-C reaches only tsdaemon, which drains;
//                        the group is what tsdaemon SIGKILLs at the lame-duck deadline.

import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import {
  ENV_GENERATION,
  ENV_LAME_DUCK_MS,
  ENV_LISTEN_FDNAMES,
  ENV_LISTEN_FDS,
  ENV_LISTEN_PID,
  ENV_LISTENERS,
  ENV_PORT,
  ENV_PRELOAD,
  ENV_READY_FD,
  ENV_READY_MODE,
  ENV_STOP_SIGNAL,
  ENV_SUPERVISOR_PID,
  ENV_WORKER,
  FIRST_LISTEN_FD,
  type ListenerInfo,
} from '../../child-protocol.js';
import { unwatchChild, watchChild } from './death-watch.js';
import { forgetChild, rememberChild } from './own-children.js';
import { stdioWithFds } from './stdio.js';

export interface ChildSpec {
  command: string;
  args: string[];
  /** The environment tsdaemon was started with (the child's base environment). */
  baseEnv: NodeJS.ProcessEnv;
  /** Supervisor fds, in the order the child gets them (3, 4, ...). */
  fds: number[];
  listeners: ListenerInfo[];
  generation: number;
  worker: number;
  supervisorPid: number;
  /** The preload's file URL, or undefined with --no-preload. */
  preloadUrl?: string;
  stopSignal: string;
  /** --lame-duck in ms: the child's time between the stop signal and the SIGKILL of its group. */
  lameDuckMs: number;
  /** --ready's mode name (auto, fd, ipc, accept, timer), for the preload. */
  readyMode: string;
  /** Give the child a ready fd (after the listening sockets) and name it in TSDAEMON_READY_FD. */
  readyFd: boolean;
  /** Pipe stdout and stderr to tsdaemon (for --log-file) instead of letting the child inherit them. */
  captureOutput: boolean;
  /** Open a Node IPC channel (process.send('ready')). */
  ipc: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** The code, or 128+N for signal N. */
  status: number;
}

export interface Child {
  pid: number;
  exited: Promise<ChildExit>;
  /** Our end of the ready fd. */
  readyStream?: Readable | undefined;
  /** Emits 'message' for IPC messages, when a channel was opened. */
  ipc?: NodeJS.EventEmitter | undefined;
  /** The child's output, when captured. */
  stdout?: Readable | undefined;
  stderr?: Readable | undefined;
}

/** Nothing could be started at all (no /bin/sh, and the program itself is missing or not executable). */
export interface SpawnFailure {
  pid: undefined;
  error: Promise<NodeJS.ErrnoException>;
}

// `exec` keeps the pid, so LISTEN_PID=$$ names the final program: strict socket-activation libraries check it.
// The shell also gives the usual 126 (not executable) and 127 (not found) with its own message.
const TRAMPOLINE = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"';
const SHELL = '/bin/sh';

/**
 * The children's working directory (--chdir), carried in the base environment because that is what the
 * supervisor hands to every spawn; taken out before the child sees its environment. Without it the
 * children start in tsdaemon's own working directory.
 */
export const CHILD_CWD_VARIABLE = '__TSDAEMON_CHILD_CWD';

/** Variables a child must not inherit from tsdaemon's own environment. */
const NOT_INHERITED = [
  CHILD_CWD_VARIABLE,
  ENV_LISTEN_FDS,
  ENV_LISTEN_PID,
  ENV_LISTEN_FDNAMES,
  'NOTIFY_SOCKET',
  'WATCHDOG_PID',
  'WATCHDOG_USEC',
];

/**
 * The NODE_OPTIONS word that loads the preload (dist/preload.cjs) with --require: a child whose
 * app is CommonJS then never starts Node's ESM loader, which --import always does (a few ms and about
 * 2 MiB per child; docs/benchmarks.md). Node splits NODE_OPTIONS at spaces outside double quotes, and
 * takes a backslash in quotes as an escape.
 */
export function preloadOption(preloadUrl: string): string {
  const path = fileURLToPath(preloadUrl);
  return /[\s"\\]/.test(path) ? `--require="${path.replace(/["\\]/g, '\\$&')}"` : `--require=${path}`;
}

export function childEnvironment(spec: ChildSpec): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...spec.baseEnv };
  for (const name of NOT_INHERITED) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('TSDAEMON_')) delete env[name];
  if (spec.listeners.length > 0) {
    env[ENV_LISTEN_FDS] = String(spec.listeners.length);
    env[ENV_LISTEN_FDNAMES] = spec.listeners.map((l) => l.name).join(':');
    env[ENV_LISTENERS] = JSON.stringify(spec.listeners);
  }
  const firstTcp = spec.listeners.find((l) => l.kind === 'tcp');
  if (firstTcp?.port !== undefined) env[ENV_PORT] = String(firstTcp.port);
  env[ENV_GENERATION] = String(spec.generation);
  env[ENV_WORKER] = String(spec.worker);
  env[ENV_SUPERVISOR_PID] = String(spec.supervisorPid);
  env[ENV_STOP_SIGNAL] = spec.stopSignal;
  env[ENV_LAME_DUCK_MS] = String(spec.lameDuckMs);
  if (spec.readyFd) env[ENV_READY_FD] = String(FIRST_LISTEN_FD + spec.fds.length);
  env[ENV_READY_MODE] = spec.readyMode;
  if (spec.preloadUrl) {
    const option = preloadOption(spec.preloadUrl);
    env.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${option}` : option;
  } else {
    env[ENV_PRELOAD] = '0';
  }
  return env;
}

function statusOf(code: number | null, signal: string | null): number {
  if (code !== null) return code;
  const number = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (number ?? 0);
}

/** Spawn the child. */
export function spawnChild(spec: ChildSpec): Child | SpawnFailure {
  const viaShell = existsSync(SHELL);
  const [file, args] = viaShell
    ? [SHELL, ['-c', TRAMPOLINE, spec.command, ...spec.args]]
    : [spec.command, spec.args];
  const cwd = spec.baseEnv[CHILD_CWD_VARIABLE];
  const subprocess = execa(file, args, {
    ...(cwd ? { cwd } : {}),
    env: childEnvironment(spec),
    extendEnv: false,
    stdio: stdioWithFds(
      spec.captureOutput ? ['inherit', 'pipe', 'pipe'] : ['inherit', 'inherit', 'inherit'],
      spec.readyFd ? [...spec.fds, 'pipe'] : spec.fds,
    ),
    ipc: spec.ipc,
    serialization: 'json',
    detached: true,
    reject: false,
    buffer: false,
    cleanup: false,
    forceKillAfterDelay: false,
    stripFinalNewline: false,
  });
  // The pid is known synchronously, so the caller can signal the child from the very next effect on.
  const pid = subprocess.pid;
  if (pid === undefined) {
    return {
      pid: undefined,
      error: subprocess.then((result) => {
        const error = new Error(result.shortMessage) as NodeJS.ErrnoException;
        if (result.code !== undefined) error.code = result.code;
        return error;
      }),
    };
  }
  watchChild(pid);
  rememberChild(pid);
  const exited = new Promise<ChildExit>((done) => {
    subprocess.once('exit', (code, signal) => {
      unwatchChild(pid);
      forgetChild(pid);
      done({ code, signal, status: statusOf(code, signal) });
    });
  });
  // execa's own promise settles too; it never rejects (reject: false) and holds nothing we need.
  subprocess.catch(() => {});
  const readyStream = spec.readyFd
    ? (subprocess.stdio[FIRST_LISTEN_FD + spec.fds.length] as Readable)
    : undefined;
  return {
    pid,
    exited,
    readyStream,
    ipc: spec.ipc ? subprocess : undefined,
    stdout: spec.captureOutput ? (subprocess.stdout ?? undefined) : undefined,
    stderr: spec.captureOutput ? (subprocess.stderr ?? undefined) : undefined,
  };
}

/** Signal a process or (group) its whole process group; false when it is already gone. */
export function signalProcess(pid: number, signal: string, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, signal as NodeJS.Signals);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
