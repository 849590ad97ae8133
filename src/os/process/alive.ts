// Whether a process exists, whoever owns it.

/** kill(pid, 0): true when pid exists, also when it belongs to another user (EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
