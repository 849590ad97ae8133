// Cheap reads of small /proc files. The readiness probe reads dozens of them every 20 ms while a child
// starts; readFileSync costs an fstat and a second read on top of open/read/close (measured: about twice the
// time per file), so this reads into one reused buffer until end of file.
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';

const buffer = Buffer.allocUnsafe(64 * 1024);

/** The text of a /proc file; throws the fs error (with .code: ENOENT, EACCES, ESRCH, …). */
export function readProcText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    // Big files (/proc/net/tcp on a busy host) come in 64 KiB pieces; the buffer never grows.
    let text = '';
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        text += buffer.toString('latin1', 0, length);
        length = 0;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return text + buffer.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** readProcText, or undefined when the file cannot be read (the process is gone, or hidden from us). */
export function tryReadProcText(path: string): string | undefined {
  try {
    return readProcText(path);
  } catch {
    return undefined;
  }
}

/** The target of a /proc symlink (such as /proc/PID/fd/N), or undefined. */
export function tryReadLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The errno code of a thrown fs error ("EACCES"), or "error". */
export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}
