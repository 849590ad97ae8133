// Why is a child not seen ready? One line for the "not ready after N s" warning and for `status`: what
// the child's threads are waiting in, read from /proc/PID/task/TID/syscall, or why tsdaemon cannot look.
import { readdirSync, readFileSync } from 'node:fs';

// Syscall numbers worth naming while a server starts (x86-64 and arm64).
const NAMES: Record<string, Record<number, string>> = {
  x64: {
    0: 'read',
    7: 'poll',
    23: 'select',
    35: 'nanosleep',
    43: 'accept',
    61: 'wait4',
    202: 'futex',
    230: 'clock_nanosleep',
    232: 'epoll_wait',
    270: 'pselect6',
    271: 'ppoll',
    281: 'epoll_pwait',
    288: 'accept4',
    426: 'io_uring_enter',
    441: 'epoll_pwait2',
  },
  arm64: {
    22: 'epoll_pwait',
    63: 'read',
    72: 'pselect6',
    73: 'ppoll',
    98: 'futex',
    101: 'nanosleep',
    115: 'clock_nanosleep',
    202: 'accept',
    242: 'accept4',
    260: 'wait4',
    426: 'io_uring_enter',
    441: 'epoll_pwait2',
  },
};

function waitOf(pid: number, tid: string): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'latin1').trim();
  } catch (error) {
    return `? (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
  if (text === 'running') return 'running';
  const nr = Number(text.split(' ')[0]);
  if (nr < 0) return 'running';
  return NAMES[process.arch]?.[nr] ?? `syscall ${nr}`;
}

/** "pid 812: threads in poll ×1, futex ×3" — or why the threads of pid cannot be seen. */
export function describeNotReady(pid: number, _inodes: number[]): string {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    return `cannot look into pid ${pid} (${(error as NodeJS.ErrnoException).code ?? 'gone'})`;
  }
  const counts = new Map<string, number>();
  for (const tid of tids) {
    const wait = waitOf(pid, tid);
    counts.set(wait, (counts.get(wait) ?? 0) + 1);
  }
  const parts = [...counts].map(([wait, n]) => (n > 1 ? `${wait} ×${n}` : wait));
  return `pid ${pid} has not been seen accepting on a listening socket; its threads wait in ${parts.join(', ')}`;
}
