// Is stderr systemd's journal? systemd sets JOURNAL_STREAM="DEV:INODE" (decimal) for a service whose
// stdout or stderr it connected to journald. The variable is inherited by whatever the service starts, and
// stderr may since have been redirected elsewhere, so it counts only when it names the very file on fd 2.
import { fstatSync } from 'node:fs';

export function isJournalStream(env: NodeJS.ProcessEnv, fd = 2): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    // bigint: an inode number may be beyond 2^53.
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] as string) && stat.ino === BigInt(match[2] as string);
  } catch {
    return false;
  }
}
