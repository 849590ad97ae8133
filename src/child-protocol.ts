// The contract between tsdaemon and the child it runs. docs/protocol.md is the prose version of this
// file; the supervisor and the app-side helper (tsdaemon/app) both import it, so the two sides cannot
// disagree. Keep it free of imports: the helper ships with no dependencies.

/** The first inherited listening socket is fd 3; the next ones follow in --listen order. */
export const FIRST_LISTEN_FD = 3;

/** systemd's socket-activation variables, set exactly as systemd sets them. */
export const ENV_LISTEN_FDS = 'LISTEN_FDS';
export const ENV_LISTEN_PID = 'LISTEN_PID';
export const ENV_LISTEN_FDNAMES = 'LISTEN_FDNAMES';

/** The port of the first TCP listener (what PaaS-style apps read). */
export const ENV_PORT = 'PORT';

/** JSON array of ListenerInfo: every inherited socket with its name, fd, kind and address. */
export const ENV_LISTENERS = 'TSDAEMON_LISTENERS';
/** Which generation of the child this is: 1 for the first start, +1 for every restart. */
export const ENV_GENERATION = 'TSDAEMON_GENERATION';
/** 0-based worker index (--workers N: 0 .. N-1). */
export const ENV_WORKER = 'TSDAEMON_WORKER';
/** The supervisor's own pid. */
export const ENV_SUPERVISOR_PID = 'TSDAEMON_PID';
/** An fd the child may write `READY=1\n` to. */
export const ENV_READY_FD = 'TSDAEMON_READY_FD';
/** The signal that asks the child to drain and exit (--stop-signal), e.g. "SIGTERM". */
export const ENV_STOP_SIGNAL = 'TSDAEMON_STOP_SIGNAL';
/** --ready as the preload needs it: "auto" lets it report ready once a held socket listens; "fd"/"ipc" leave it to the app. */
export const ENV_READY_MODE = 'TSDAEMON_READY_MODE';
/** Set to "0" in the child's environment when the Node preload is turned off with --no-preload. */
export const ENV_PRELOAD = 'TSDAEMON_PRELOAD';
/**
 * --lame-duck in ms: how long the child has after the stop signal before its process group is SIGKILLed.
 * The Node drain closes what is still open a margin before that (src/app/drain-clock.ts).
 */
export const ENV_LAME_DUCK_MS = 'TSDAEMON_LAME_DUCK_MS';

/** Every TSDAEMON_* variable tsdaemon sets for a child (a nested tsdaemon must not read them as options). */
export const CHILD_IDENTITY_VARIABLES = [
  ENV_LISTENERS,
  ENV_GENERATION,
  ENV_WORKER,
  ENV_SUPERVISOR_PID,
  ENV_READY_FD,
  ENV_READY_MODE,
  ENV_STOP_SIGNAL,
  ENV_PRELOAD,
  ENV_LAME_DUCK_MS,
] as const;

export type ListenerKind = 'tcp' | 'unix' | 'udp';

/** One inherited socket, as the child sees it in TSDAEMON_LISTENERS. */
export interface ListenerInfo {
  /** The name given with --listen=NAME=..., or a stable one derived from the address. */
  name: string;
  /** The fd in the child: 3, 4, ... */
  fd: number;
  kind: ListenerKind;
  /** tcp/udp: the bound address ("::", "127.0.0.1", ...). */
  host?: string;
  /** tcp/udp: the bound port (the real one when --listen asked for port 0). */
  port?: number;
  /** unix: the socket file's absolute path. */
  path?: string;
  /** The socket's inode (as in /proc/PID/fd/N -> socket:[inode]), to tell a real inherited socket from a reused fd. */
  inode?: number;
  /** The backlog tsdaemon listened with, for children that call listen() again. */
  backlog?: number;
}

/** The line a child writes to TSDAEMON_READY_FD to say it is ready (the trailing newline is optional). */
export const READY_LINE = 'READY=1';
/** The message a Node child sends over IPC to say it is ready (PM2 compatible). */
export const READY_IPC_MESSAGE = 'ready';

/** Parse TSDAEMON_LISTENERS; returns [] when it is missing or malformed. */
export function parseListenersEnv(value: string | undefined): ListenerInfo[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (entry): entry is ListenerInfo =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as ListenerInfo).name === 'string' &&
        Number.isInteger((entry as ListenerInfo).fd),
    );
  } catch {
    return [];
  }
}
