// --config FILE (or TSDAEMON_CONFIG): a JSON object whose keys are option names ("listen", "lameDuck" or
// "lame-duck", ...). Read before yargs so a missing or malformed file gets its own clear message.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './options.js';

/**
 * Keys yargs would act on rather than refuse ({"help": true} would print the help and exit 0), and
 * allow-unsafe-install, which is decided before any file is read (bin/tsdaemon).
 */
const NOT_OPTIONS = [
  'help',
  'h',
  'version',
  'config',
  '_',
  '$0',
  'allow-unsafe-install',
  'allowUnsafeInstall',
];
/** A config file is a few lines; this bounds what a wrong path (a log, an image) makes tsdaemon read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The value of --config / --config=X in the options part of argv, else TSDAEMON_CONFIG. */
export function findConfigPath(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  let path: string | undefined = env.TSDAEMON_CONFIG;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    // "--config --listen=:80": no value; yargs says so ("Not enough arguments following: config").
    if (arg === '--config') {
      const next = args[i + 1];
      path = next?.startsWith('-') ? undefined : next;
      break;
    }
    if (arg.startsWith('--config=')) {
      path = arg.slice('--config='.length);
      break;
    }
  }
  if (path === '') throw new UsageError('--config: empty value (give a path, or leave the option out)');
  return path;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    // Not a FIFO (opening one blocks until a writer comes), a device (/dev/zero never ends) or a directory.
    const stat = statSync(path);
    if (!stat.isFile()) {
      const what = stat.isDirectory() ? 'a directory' : 'no regular file';
      throw new UsageError(`--config: '${path}' is ${what}; give a JSON file`);
    }
    if (stat.size > MAX_CONFIG_BYTES)
      throw new UsageError(`--config: '${path}' is ${stat.size} bytes; a config file has at most 1 MiB`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const errno = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError(`--config: cannot read '${path}': ${errno}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config: '${path}' is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config: '${path}' must hold a JSON object such as {"listen": [":8080"]}`);
  }
  for (const key of Object.keys(parsed)) {
    if (NOT_OPTIONS.includes(key))
      throw new UsageError(`--config: '${key}' in ${path} is no option a config file can set`);
  }
  return parsed as Record<string, unknown>;
}
