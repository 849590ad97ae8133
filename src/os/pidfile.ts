// The pidfile (--pidfile PATH): holds the supervisor's pid for systemd's PIDFile=, scripts and the control
// commands.
// - Refuses to start when it names a live tsdaemon; a stale one (dead pid, or a live pid that is no
//   tsdaemon: pid reuse) is replaced.
// - Never readable half-written: written to a temporary file in the same directory, then renamed.
// - No symlink is followed: a symlink at PATH is refused, the temporary file is created exclusively.
// - Never overwrites a file it did not write: an existing file must hold a pid (or be empty, as an earlier
//   tsdaemon leaves it after a privilege drop).
// - Refused in a directory where another user could swap the file (src/os/privilege/safe-path.ts).
// - Written before privileges are dropped, so /run/app.pid works with --user; owned by root, mode 0644,
//   so the dropped user cannot write it.
// - Removed on exit; after a privilege drop (no right left to unlink in /run) it is emptied instead,
//   through an fd kept open from before the drop.
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

import { basename, dirname, join } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_PIDFILE } from '../exit-codes.js';
import { unsafeDirectory } from './privilege/safe-path.js';
import { readProcStat } from './procfs/proc-stat.js';

export interface Pidfile {
  path: string;
  /** Remove the pidfile (or empty it when it cannot be removed), if it still holds our pid. */
  release(): void;
  /** Hand the pidfile to another process (a self-upgrade): write its pid, atomically if we still may. */
  handOver(pid: number): void;
}

function pidfileError(code: string, message: string): TsdaemonError {
  return new TsdaemonError(code, message, EXIT_PIDFILE);
}

/** Is pid a running tsdaemon? (Its command line names bin/tsdaemon or the bundle.) */
export function isTsdaemon(pid: number): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const state = readProcStat(pid)?.state;
    return state !== undefined && state !== 'Z' && args.some((arg) => /(^|\/)tsdaemon(\.mjs)?$/.test(arg));
  } catch {
    return false;
  }
}

/** The pid in a pidfile, or undefined when there is none, it is empty or it holds no number. */
export function readPidfile(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Before anything is bound: refuse a symlink, something that is no file, a file that holds no pid, a
 * directory other users could write to, or a live tsdaemon's pidfile.
 */
export function checkPidfile(path: string): void {
  if (!existsSync(dirname(path))) {
    throw pidfileError(
      'pidfile-no-directory',
      `--pidfile=${path}: the directory ${dirname(path)} does not exist`,
    );
  }
  if (!statSync(dirname(path)).isDirectory()) {
    throw pidfileError('pidfile-no-directory', `--pidfile=${path}: ${dirname(path)} is not a directory`);
  }
  const unsafe = unsafeDirectory(path);
  if (unsafe) {
    throw pidfileError(
      'pidfile-unsafe-directory',
      `--pidfile=${path}: ${unsafe}; choose a directory only root or tsdaemon's user can write to (e.g. /run)`,
    );
  }
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw pidfileError('pidfile-unreadable', `--pidfile=${path}: ${(error as Error).message}`);
  }
  if (stat.isSymbolicLink()) {
    throw pidfileError(
      'pidfile-symlink',
      `--pidfile=${path} is a symlink; tsdaemon does not follow symlinks for its pidfile (remove it or choose another path)`,
    );
  }
  if (!stat.isFile())
    throw pidfileError('pidfile-not-file', `--pidfile=${path} exists and is not a regular file`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw pidfileError(
      'pidfile-unreadable',
      `--pidfile=${path}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const pid = /^\d+$/.test(text) ? Number(text) : undefined;
  if (pid === undefined && text !== '') {
    throw pidfileError(
      'pidfile-not-pidfile',
      `--pidfile=${path} exists and holds no pid; tsdaemon does not overwrite a file it did not write (remove it or choose another path)`,
    );
  }
  if (pid !== undefined && pid !== process.pid && isTsdaemon(pid)) {
    throw pidfileError(
      'pidfile-in-use',
      `--pidfile=${path} belongs to a running tsdaemon (pid ${pid}); stop it first (tsdaemon stop --pidfile=${path}) or use another pidfile`,
    );
  }
}

/** Write pid to path atomically (temporary file + rename) and keep an fd to empty it on exit. */
export function writePidfile(path: string, pid: number): Pidfile {
  const temporary = join(dirname(path), `.${basename(path)}.${pid}.tmp`);
  try {
    // wx = O_CREAT|O_EXCL: never through a symlink, never someone else's file.
    const fd = openSync(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      writeSync(fd, `${pid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {}
    throw pidfileError(
      'pidfile-write-failed',
      `cannot write --pidfile=${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return adoptPidfile(path, pid);
}

/**
 * The pidfile that holds pid (written just now, or by a predecessor that handed it over on SIGUSR2), with an
 * fd kept open to empty it on exit when it can no longer be removed.
 */
export function adoptPidfile(path: string, pid: number): Pidfile {
  let keep: number | undefined;
  try {
    keep = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch {
    // Only needed to empty the file after a privilege drop.
  }
  return {
    path,
    handOver(next) {
      try {
        writePidfile(path, next);
      } catch {
        // After a privilege drop only the fd kept from before it can still write the file.
        if (keep === undefined)
          throw pidfileError('pidfile-write-failed', `cannot hand --pidfile=${path} over to pid ${next}`);
        ftruncateSync(keep, 0);
        writeSync(keep, `${next}\n`, 0);
      }
    },
    release() {
      if (readPidfile(path) !== pid) return; // someone else's now (a successor after an upgrade)
      try {
        unlinkSync(path);
      } catch {
        if (keep !== undefined) ftruncateSync(keep, 0);
      }
      if (keep !== undefined) closeSync(keep);
      keep = undefined;
    },
  };
}
