// What the children need to start, checked as the user they run as: after the privilege drop, access(2)
// answers for that user, its groups included. Without this a --user that cannot enter the working
// directory got `spawn /bin/sh EACCES` (libuv's chdir in the new process fails, and Node blames the
// program). Also the children's base environment (--env-file, --chdir).
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_SPAWN } from '../exit-codes.js';
import { CHILD_CWD_VARIABLE } from '../os/process/child.js';
import { findCommand } from './command.js';
import type { RunConfig } from './options.js';

/** The first directory from / down to dir (dir included) that the current user cannot search, if any. */
export function firstUnsearchable(dir: string): string | undefined {
  const chain: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    chain.unshift(at);
    if (at === dirname(at)) break;
  }
  return chain.find((at) => {
    try {
      accessSync(at, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * The children's base environment: tsdaemon's own (with the user's USER, LOGNAME, HOME), the --env-file
 * variables over it, and for --chdir its PWD and the directory to start in.
 */
export function childBaseEnv(base: NodeJS.ProcessEnv, config: RunConfig): NodeJS.ProcessEnv {
  const chdir = config.chdir ? { PWD: config.chdir, [CHILD_CWD_VARIABLE]: config.chdir } : {};
  return { ...base, ...config.environment, ...chdir };
}

/**
 * Check, as the current user, that the children's working directory can be entered and their command
 * found and run. user names the user for the messages (after a drop). Throws a TsdaemonError: child-cwd
 * (68), command-not-found (127), command-not-executable (126).
 */
export function checkChildStart(config: RunConfig, env: NodeJS.ProcessEnv, user?: string): void {
  const cwd = config.chdir ?? process.cwd();
  const blocked = firstUnsearchable(cwd);
  if (blocked !== undefined) {
    const who = user ?? 'tsdaemon';
    const where = blocked === cwd ? '' : ` (no search permission on ${blocked})`;
    const fix = user
      ? `give ${user} search permission on it (chmod o+x ${blocked}) or start in another directory (--chdir=DIR)`
      : `fix its permissions or use --chdir=DIR`;
    throw new TsdaemonError(
      'child-cwd',
      `${who} cannot enter the working directory ${cwd}${where}: EACCES; ${fix}`,
      EXIT_SPAWN,
    );
  }
  findCommand(config.command, env.PATH, cwd, user);
}
