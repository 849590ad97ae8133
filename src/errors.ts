import { EXIT_INTERNAL } from './exit-codes.js';

/**
 * An error tsdaemon expected and can explain: one line for the operator (what, the value, the errno and
 * the fix) and the exit code that goes with it. Anything else that reaches the top is a bug.
 */
export class TsdaemonError extends Error {
  override readonly name = 'TsdaemonError';
  constructor(
    /** A stable identifier listed in docs/errors.md, e.g. "listen-in-use". */
    readonly code: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof TsdaemonError ? error.exitCode : EXIT_INTERNAL;
}

/** The errno name of a Node system error (EACCES, ...) or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
