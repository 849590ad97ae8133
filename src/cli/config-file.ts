// --config FILE (or TSDAEMON_CONFIG): a JSON object whose keys are option names ("listen", "lameDuck" or
// "lame-duck", ...). Read before yargs so a missing or malformed file gets its own clear message.
import { readFileSync } from 'node:fs';
import { UsageError } from './options.js';

/** The value of --config / --config=X in the options part of argv, else TSDAEMON_CONFIG. */
export function findConfigPath(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--config') return args[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return env.TSDAEMON_CONFIG;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
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
  return parsed as Record<string, unknown>;
}
