// Paths that only root and tsdaemon's user can change: for the pidfile, unix sockets, the log file and
// the control socket.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why another user could replace files at path (swap in a symlink, or their own file), or undefined when
 * only root and tsdaemon's user can. That is the case when a directory on the way is writable by everybody
 * without the sticky bit, or with it but owned by another user (the owner of a sticky directory may still
 * rename or delete anything in it). /tmp (root, 1777) is fine; so is a directory that belongs to one user
 * (the app's own /run/app), whom the operator chose to trust. Used for the pidfile, unix sockets, the
 * log file and the control socket. Missing directories are left to the caller, which reports them with its own words.
 */
export function unsafeDirectory(path: string): string | undefined {
  const uid = process.geteuid?.() ?? 0;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(dir);
    } catch {
      return undefined;
    }
    if (stat.mode & 0o002) {
      const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
      if ((stat.mode & 0o1000) === 0)
        return `${dir} is writable by every user (mode ${mode}), who could replace the file`;
      if (stat.uid !== 0 && stat.uid !== uid)
        return `${dir} is writable by every user (mode ${mode}) and owned by uid ${stat.uid}, who could replace the file`;
    }
    if (dir === dirname(dir)) return undefined;
  }
}
