// Where the child's command is found, checked before anything is bound (and again as --user after the
// drop, src/cli/child-start.ts): a typo gives one clear line and the shell's exit code (127 not found,
// 126 not executable) with nothing left behind.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from '../exit-codes.js';

type FileState = 'ok' | 'missing' | 'not-executable' | 'unreachable';

function isExecutableFile(path: string): FileState {
  try {
    if (!statSync(path).isFile()) return 'not-executable';
  } catch (error) {
    // EACCES: a directory on the way cannot be searched; the file may well be there.
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'unreachable' : 'missing';
  }
  try {
    accessSync(path, constants.X_OK);
    return 'ok';
  } catch {
    return 'not-executable';
  }
}

/** The first directory above path that the current user cannot search. */
function blockedDirectory(path: string): string {
  let blocked = dirname(path);
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      accessSync(dir, constants.X_OK);
    } catch {
      blocked = dir;
    }
  }
  return blocked;
}

function notExecutable(path: string, shown: string, state: FileState, user?: string): TsdaemonError {
  const by = user ? ` by ${user}` : '';
  let why: string;
  if (state === 'unreachable') {
    const dir = blockedDirectory(path);
    why = `no search permission on ${dir}; give ${user ?? 'this user'} access (chmod o+x ${dir}) or install the command elsewhere`;
  } else if (user) why = `give ${user} execute permission (chmod o+rx ${path}) or install it elsewhere`;
  else why = `chmod +x it, or run it through its interpreter, e.g. -- node ${shown}`;
  return new TsdaemonError(
    'command-not-executable',
    `command not executable${by}: ${shown} (${why})`,
    EXIT_NOT_EXECUTABLE,
  );
}

/**
 * The path that will run, or a TsdaemonError with exit code 127 / 126. user names the user the check runs
 * as (after the privilege drop), for the message.
 */
export function findCommand(
  command: string,
  pathVariable: string | undefined,
  cwd: string,
  user?: string,
): string {
  if (command.includes('/')) {
    const path = resolve(cwd, command);
    const state = isExecutableFile(path);
    if (state === 'missing') {
      throw new TsdaemonError(
        'command-not-found',
        `command not found: ${command} (no such file)`,
        EXIT_NOT_FOUND,
      );
    }
    if (state !== 'ok') throw notExecutable(path, command, state, user);
    return path;
  }
  let blocked: { path: string; state: FileState } | undefined;
  for (const dir of (pathVariable ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const path = resolve(cwd, dir || '.', command);
    const state = isExecutableFile(path);
    if (state === 'ok') return path;
    if (state !== 'missing') blocked ??= { path, state };
  }
  if (blocked) throw notExecutable(blocked.path, blocked.path, blocked.state, user);
  throw new TsdaemonError(
    'command-not-found',
    `command not found: ${command} (searched PATH=${pathVariable ?? ''})`,
    EXIT_NOT_FOUND,
  );
}
