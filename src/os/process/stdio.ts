import type { Options } from 'execa';

type StdioEntry = 'inherit' | 'ignore' | 'pipe' | 'ipc' | number;

/**
 * An execa stdio array that passes raw fds at index 3 and up. execa 9 accepts any integer fd there at run
 * time (it hands them to child_process.spawn), but its types only list 3..9, so the cast lives here, once.
 */
export function stdioWithFds(
  standard: [StdioEntry, StdioEntry, StdioEntry],
  extra: readonly StdioEntry[],
): Options['stdio'] {
  return [...standard, ...extra] as unknown as Options['stdio'];
}
