// The optional native addon (native/tsdaemon_native.c): waitpid() on one pid, unix datagrams, and listen(2)
// without accepting, which Node lacks. It is built at install time when a C compiler is there (the Node-API
// headers ship with the node-api-headers package); without it, tsdaemon works but cannot sd_notify or reap
// orphaned zombies as PID 1.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NATIVE_ADDON_URL } from '../paths.js';

export interface NativeAddon {
  /** waitpid(pid, WNOHANG): the wait status, or -1 when nothing was reaped. */
  reap(pid: number): number;
  /** Send one datagram to a unix socket path ('@' = abstract); throws with the errno text. */
  notify(path: string, message: Buffer): void;
  /** listen(2) on a bound socket fd: 0 or the errno. No libuv handle, so nothing starts accepting. */
  listen(fd: number, backlog: number): number;
  /** Clear O_NONBLOCK on fd: 0 or the errno. */
  setBlocking(fd: number): number;
  /** getsockopt(SO_ACCEPTCONN): the socket is listening. */
  isListening(fd: number): boolean;
  /** Set FD_CLOEXEC on fd: 0 or the errno. */
  setCloexec(fd: number): number;
  /** Clear FD_CLOEXEC on fd (a launcher passes tsdaemon's sockets on): 0 or the errno. */
  clearCloexec(fd: number): number;
  /** fcntl(F_DUPFD): a copy of fd at the lowest free number >= min, without FD_CLOEXEC; or -errno. */
  dupAbove(fd: number, min: number): number;
}

let cached: { addon?: NativeAddon; error?: string } | undefined;

/** The addon, or the reason it cannot load (e.g. "not built: run npm rebuild tsdaemon"). */
export function loadNative(): { addon?: NativeAddon; error?: string } {
  if (cached) return cached;
  const path = fileURLToPath(NATIVE_ADDON_URL);
  try {
    cached = { addon: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    cached = {
      error:
        code === 'MODULE_NOT_FOUND'
          ? `the native addon was not built (${path}; needs a C compiler at install: npm rebuild tsdaemon)`
          : `the native addon cannot load: ${(error as Error).message}`,
    };
  }
  return cached;
}
