// tsdaemon's own exit codes. Every one is listed in docs/errors.md with what an operator should do.
// When the child's exit ends tsdaemon, tsdaemon exits with the child's code instead (128+N for signal N,
// 126 not executable, 127 not found — the shell's and tini's convention). Ours sit in the sysexits range
// (64-78), which servers rarely use for themselves.

export const EXIT_OK = 0;
/** A command-line option, environment variable or config file value is wrong. */
export const EXIT_USAGE = 64;
/** A --listen socket could not be bound, listened on, or inherited. */
export const EXIT_LISTEN = 65;
/** --user could not be applied (reserved for the privilege-drop issue). */
export const EXIT_PRIVILEGES = 66;
/** The pidfile names a live tsdaemon, or cannot be written safely (reserved). */
export const EXIT_PIDFILE = 67;
/** The child could not be started at all (spawn failed for a reason other than 126/127). */
export const EXIT_SPAWN = 68;
/** The lame-duck period ran out and children had to be SIGKILLed. */
export const EXIT_DRAIN_TIMEOUT = 69;
/** A bug in tsdaemon: an unexpected exception. */
export const EXIT_INTERNAL = 70;
/** `tsdaemon reload` while the first start is still in progress: the reload is queued, not done (EX_TEMPFAIL). */
export const EXIT_RELOAD_QUEUED = 75;
/**
 * Started as root from an install that a user other than root can change (bin/tsdaemon,
 * src/os/privilege/trusted-code.ts). sysexits' EX_NOPERM.
 */
export const EXIT_UNSAFE_INSTALL = 77;

/** The shell's conventions for a command that could not be run. */
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;
export const EXIT_SIGNAL_BASE = 128;
