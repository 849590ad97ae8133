// Whether a file that tsdaemon makes other processes load (the bind shim, through LD_PRELOAD) can be
// changed by someone who should not: whoever can write it, or rename another file into its place, runs
// code in every process of the child's tree (as --user, and as root when there is no --user).
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

function mode(value: number): string {
  return (value & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why path cannot be trusted, or undefined when it can: the file and every directory above it must be
 * owned by root (or by tsdaemon's own user, when tsdaemon does not run as root), never by the --user
 * account (runAsUid), and writable by no group or other user, except a root-owned directory with the sticky
 * bit (/tmp), where nobody else can replace root's entries.
 */
export function untrustedFile(path: string, runAsUid?: number): string | undefined {
  const self = process.geteuid?.() ?? 0;
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    return `${path} cannot be resolved (${(error as NodeJS.ErrnoException).code})`;
  }
  for (let at = real; ; at = dirname(at)) {
    const stat = statSync(at);
    if (stat.uid !== 0 && stat.uid !== self) return `${at} is owned by uid ${stat.uid}, not root`;
    if (runAsUid !== undefined && runAsUid !== 0 && stat.uid === runAsUid)
      return `${at} is owned by the --user account (uid ${runAsUid})`;
    const sticky = stat.isDirectory() && (stat.mode & 0o1000) !== 0 && stat.uid === 0;
    if (stat.mode & 0o022 && !sticky)
      return `${at} is writable by ${stat.mode & 0o002 ? 'every user' : `group ${stat.gid}`} (mode ${mode(stat.mode)})`;
    if (at === dirname(at)) return undefined;
  }
}
