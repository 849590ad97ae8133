// Syscall numbers of the calls a server waits in, per architecture, as the kernel's own headers give
// them: arch/x86/entry/syscalls/syscall_64.tbl (installed as asm/unistd_64.h) for x86-64, and
// include/uapi/asm-generic/unistd.h for arm64, which has no poll, select or epoll_wait (its libc calls
// ppoll, pselect6 and epoll_pwait instead). /proc/PID/task/TID/syscall starts with one of these numbers.

/** What a thread blocked in the call waits for, as far as readiness is concerned. */
export type WaitKind =
  | 'accept' // accept/accept4: arg1 is the listening fd
  | 'recv' // recvfrom/recvmsg: arg1 is the (UDP) socket
  | 'poll' // poll/ppoll: arg1 = struct pollfd *, arg2 = count
  | 'select' // select/pselect6: arg1 = nfds, arg2 = fd_set *readfds
  | 'epoll' // epoll_wait & co: arg1 is the epoll fd (its set is in /proc/PID/fdinfo)
  | 'io_uring' // io_uring_enter: what it waits for is not visible from /proc
  | 'other';

export interface Syscall {
  name: string;
  kind: WaitKind;
}

type Table = Record<number, [string, WaitKind]>;

const X86_64: Table = {
  0: ['read', 'other'],
  1: ['write', 'other'],
  7: ['poll', 'poll'],
  17: ['pread64', 'other'],
  19: ['readv', 'other'],
  23: ['select', 'select'],
  24: ['sched_yield', 'other'],
  34: ['pause', 'other'],
  35: ['nanosleep', 'other'],
  42: ['connect', 'other'],
  43: ['accept', 'accept'],
  44: ['sendto', 'other'],
  45: ['recvfrom', 'recv'],
  46: ['sendmsg', 'other'],
  47: ['recvmsg', 'recv'],
  61: ['wait4', 'other'],
  70: ['msgrcv', 'other'],
  73: ['flock', 'other'],
  128: ['rt_sigtimedwait', 'other'],
  130: ['rt_sigsuspend', 'other'],
  202: ['futex', 'other'],
  208: ['io_getevents', 'other'],
  219: ['restart_syscall', 'other'],
  230: ['clock_nanosleep', 'other'],
  232: ['epoll_wait', 'epoll'],
  247: ['waitid', 'other'],
  270: ['pselect6', 'select'],
  271: ['ppoll', 'poll'],
  281: ['epoll_pwait', 'epoll'],
  288: ['accept4', 'accept'],
  299: ['recvmmsg', 'other'],
  426: ['io_uring_enter', 'io_uring'],
  441: ['epoll_pwait2', 'epoll'],
};

const GENERIC: Table = {
  4: ['io_getevents', 'other'],
  22: ['epoll_pwait', 'epoll'],
  32: ['flock', 'other'],
  63: ['read', 'other'],
  64: ['write', 'other'],
  65: ['readv', 'other'],
  67: ['pread64', 'other'],
  72: ['pselect6', 'select'],
  73: ['ppoll', 'poll'],
  95: ['waitid', 'other'],
  98: ['futex', 'other'],
  101: ['nanosleep', 'other'],
  115: ['clock_nanosleep', 'other'],
  124: ['sched_yield', 'other'],
  128: ['restart_syscall', 'other'],
  133: ['rt_sigsuspend', 'other'],
  137: ['rt_sigtimedwait', 'other'],
  188: ['msgrcv', 'other'],
  202: ['accept', 'accept'],
  203: ['connect', 'other'],
  206: ['sendto', 'other'],
  207: ['recvfrom', 'recv'],
  211: ['sendmsg', 'other'],
  212: ['recvmsg', 'recv'],
  242: ['accept4', 'accept'],
  243: ['recvmmsg', 'other'],
  260: ['wait4', 'other'],
  426: ['io_uring_enter', 'io_uring'],
  441: ['epoll_pwait2', 'epoll'],
};

const TABLES: Partial<Record<NodeJS.Architecture, Table>> = { x64: X86_64, arm64: GENERIC };

/** True when tsdaemon knows the syscall numbers of this machine (x86-64, arm64). */
export const SYSCALLS_KNOWN = TABLES[process.arch] !== undefined;

/** The call behind a syscall number on this machine; unknown numbers are "syscall N". */
export function syscallOf(nr: number): Syscall {
  const entry = TABLES[process.arch]?.[nr];
  return entry ? { name: entry[0], kind: entry[1] } : { name: `syscall ${nr}`, kind: 'other' };
}
