// Where the child's command is found, checked before anything is bound: a typo gives one clear line and
// the shell's exit code (127 not found, 126 not executable) with nothing left behind.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from '../exit-codes.js';

function isExecutableFile(path: string): 'ok' | 'missing' | 'not-executable' {
  try {
    if (!statSync(path).isFile()) return 'not-executable';
  } catch {
    return 'missing';
  }
  try {
    accessSync(path, constants.X_OK);
    return 'ok';
  } catch {
    return 'not-executable';
  }
}

/** The path that will run, or a TsdaemonError with exit code 127 / 126. */
export function findCommand(command: string, pathVariable: string | undefined, cwd: string): string {
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
    if (state === 'not-executable') {
      throw new TsdaemonError(
        'command-not-executable',
        `command not executable: ${command} (chmod +x it, or run it through its interpreter, e.g. -- node ${command})`,
        EXIT_NOT_EXECUTABLE,
      );
    }
    return path;
  }
  let sawNonExecutable: string | undefined;
  for (const dir of (pathVariable ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const path = resolve(cwd, dir || '.', command);
    const state = isExecutableFile(path);
    if (state === 'ok') return path;
    if (state === 'not-executable') sawNonExecutable ??= path;
  }
  if (sawNonExecutable) {
    throw new TsdaemonError(
      'command-not-executable',
      `command not executable: ${sawNonExecutable}`,
      EXIT_NOT_EXECUTABLE,
    );
  }
  throw new TsdaemonError(
    'command-not-found',
    `command not found: ${command} (searched PATH=${pathVariable ?? ''})`,
    EXIT_NOT_FOUND,
  );
}
