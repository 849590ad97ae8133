// Code that a root process loads must be changeable by root only: whoever can write tsdaemon's bundle, its
// native addon, a native library it preloads, or any directory above them (and so rename a file away and
// put their own in its place) becomes root at the next start. A file is safe when root owns it and neither
// its group nor others may write it; a directory on the way when root owns it and it is not group- or
// world-writable, or has the sticky bit (as /tmp: then others may add files but not replace root's).
//
// bin/tsdaemon checks this module itself (the same rule, inline) before importing it, then calls
// checkInstall() before it imports anything else, and refuses with one line (exit 77) unless
// --allow-unsafe-install. Only node: built-ins here, nothing else from dist/.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The name of uid from /etc/passwd, for the message ("uid 1000 (deploy)"). */
function ownerName(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === String(uid));
    const name = line?.split(':')[0];
    return name ? `uid ${uid} (${name})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

/** A file or directory that a user other than root could change, and why. */
export interface Untrusted {
  path: string;
  /** "is owned by uid 1000 (deploy)", "is writable by every user (mode 0777)" */
  why: string;
}

/** Why a user other than root (or trustedUid) could change path itself (not its directories), or undefined. */
function unsafeEntry(path: string, directory: boolean, trustedUid: number): Untrusted | undefined {
  const stat = statSync(path);
  if (stat.uid !== 0 && stat.uid !== trustedUid) return { path, why: `is owned by ${ownerName(stat.uid)}` };
  const writable = stat.mode & 0o022;
  if (writable === 0 || (directory && stat.mode & 0o1000)) return undefined;
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const who = writable & 0o002 ? 'every user' : `group ${stat.gid}`;
  return { path, why: `is writable by ${who} (mode ${mode})` };
}

/**
 * Why a user other than root could change the code at path (the file, the file a symlink points to, or a
 * directory above either), or undefined when only root can. For any code a root process is about to load
 * (a native library, a preload). trustedUid: one more owner that may change it (the user a non-root
 * tsdaemon runs as, loading code into its own children). Errors of stat (ENOENT, ...) are thrown. checked
 * remembers the verdict on each directory for the next call with the same trustedUid (a directory found
 * safe had all those above it found safe too).
 */
export function untrustedCode(
  path: string,
  trustedUid = 0,
  checked = new Map<string, Untrusted | undefined>(),
): Untrusted | undefined {
  const real = realpathSync.native(path);
  const own = unsafeEntry(real, statSync(real).isDirectory(), trustedUid);
  if (own) return own;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    if (checked.has(dir)) return checked.get(dir);
    const reason = unsafeEntry(dir, true, trustedUid);
    checked.set(dir, reason);
    if (reason) return reason;
    if (dir === dirname(dir)) return undefined;
  }
}

/**
 * Files of code that tsdaemon loads from the installed package at root: bin/, the bundles at the top of
 * dist/ (the CLI, yargs, the preload its Node children load) with their code caches in dist/cache/, the
 * native libraries in native/, and package.json. Not the rest of dist/ (tsc's output, for apps that import
 * the app helper and for the tests): tsdaemon never loads it, and skipping its ~170 files saves ~10 ms at
 * every start as root.
 */
function codeFiles(root: string): string[] {
  const files: string[] = [join(root, 'package.json')];
  const add = (dir: string, keep: (name: string) => boolean) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries)
      if (!entry.isDirectory() && keep(entry.name)) files.push(join(dir, entry.name));
  };
  add(join(root, 'bin'), () => true);
  add(join(root, 'dist'), (name) => /\.(cjs|mjs|js)$/.test(name));
  add(join(root, 'dist', 'cache'), () => true);
  add(join(root, 'native'), (name) => name.endsWith('.node') || name.endsWith('.so'));
  return files;
}

/**
 * Started as root: the first reason a user other than root could change code of the installed package at
 * root (a directory), or undefined. Directories inside are checked as the files' directories.
 */
export function checkInstall(root: string): Untrusted | undefined {
  const checked = new Map<string, Untrusted | undefined>();
  for (const file of codeFiles(root)) {
    let reason: Untrusted | undefined;
    try {
      reason = untrustedCode(file, 0, checked);
    } catch {
      continue; // gone since it was listed, or unreadable: it will not be loaded from there either
    }
    if (reason) return reason;
  }
  return undefined;
}
