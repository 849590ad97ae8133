// What one process waits for, read from /proc: its open fds, the fds each of its epoll sets watches, and
// what each thread is blocked in, with the fds that call waits on for input. The accept probe
// (accept-probe.ts) stops at the first listening socket it finds; describeWaiting (waiting.ts) reads it all.
import { readdirSync } from 'node:fs';
import { errorCode, tryReadLink, tryReadProcText } from '../procfs/proc-file.js';
import type { WaitKind } from './syscalls.js';
import { readThreadSyscall } from './thread-syscall.js';
import { type Memory, openMemory, polledFds, selectedFds } from './wait-args.js';

export interface ThreadWait {
  tid: number;
  /** The syscall's name, "running" (on a CPU) or "user" (outside a syscall), or "?" when unreadable. */
  call: string;
  kind: WaitKind | 'running' | 'user' | 'unreadable';
  /** The fds it waits on for input: accept/recv its socket, poll/select the fds asked for input, epoll the epoll fd. */
  fds: number[];
  /** Why the thread or its call's arguments could not be read: "EACCES on /proc/PID/mem". */
  error?: string;
}

export interface Watched {
  fd: number;
  inode: number;
}

export interface ProcessWaits {
  pid: number;
  /** Why /proc/PID/fd or /proc/PID/task could not be read at all ("EACCES on /proc/PID/fd"). */
  error?: string;
  /** fd → what it is: "socket:[123]", "anon_inode:[eventpoll]", "pipe:[9]", … */
  fds: Map<number, string>;
  /** epoll fd → what its set watches (from /proc/PID/fdinfo/EPFD). */
  epolls: Map<number, Watched[]>;
  threads: ThreadWait[];
  /** With `until`: how the first wait on one of those inodes was seen. */
  found?: string;
}

/** The inode of a socket link target "socket:[123]", else undefined. */
export function socketInodeOfLink(link: string | undefined): number | undefined {
  const match = link === undefined ? null : /^socket:\[(\d+)\]$/.exec(link);
  return match ? Number(match[1]) : undefined;
}

function readFds(pid: number, waits: ProcessWaits): void {
  let entries: string[];
  try {
    entries = readdirSync(`/proc/${pid}/fd`);
  } catch (error) {
    waits.error = `${errorCode(error)} on /proc/${pid}/fd`;
    return;
  }
  for (const entry of entries) {
    const link = tryReadLink(`/proc/${pid}/fd/${entry}`);
    if (link !== undefined) waits.fds.set(Number(entry), link);
  }
}

function readEpolls(pid: number, waits: ProcessWaits, until?: Set<number>): void {
  for (const [fd, link] of waits.fds) {
    if (link !== 'anon_inode:[eventpoll]') continue;
    // "tfd:        3 events:       19 data: ... pos:0 ino:9a4b sdev:8"
    const info = tryReadProcText(`/proc/${pid}/fdinfo/${fd}`) ?? '';
    const watched: Watched[] = [];
    for (const match of info.matchAll(/^tfd:\s*(\d+)\b.*?\bino:([0-9a-f]+)/gm)) {
      watched.push({ fd: Number(match[1]), inode: Number.parseInt(match[2] as string, 16) });
    }
    waits.epolls.set(fd, watched);
    const hit = until && watched.find((w) => until.has(w.inode));
    if (hit) {
      waits.found = `pid ${pid} has fd ${hit.fd} in its epoll set (fd ${fd})`;
      return;
    }
  }
}

function waitedFds(memory: Memory, kind: WaitKind, args: bigint[]): number[] {
  const [a1 = 0n, a2 = 0n] = args;
  switch (kind) {
    case 'accept':
    case 'recv':
    case 'epoll':
      return [Number(a1)];
    case 'poll':
      return polledFds(memory, a1, a2);
    case 'select':
      return selectedFds(memory, a1, a2);
    default:
      return [];
  }
}

function readThreads(pid: number, waits: ProcessWaits, until?: Set<number>): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    waits.error ??= `${errorCode(error)} on /proc/${pid}/task`;
    return;
  }
  const memory = openMemory(pid);
  try {
    for (const tid of tids) {
      const state = readThreadSyscall(pid, tid);
      const thread: ThreadWait = { tid: Number(tid), call: '?', kind: 'unreadable', fds: [] };
      waits.threads.push(thread);
      if (state.state === 'unreadable') {
        thread.error = `${state.code} on /proc/${pid}/task/${tid}/syscall`;
        continue;
      }
      if (state.state !== 'syscall') {
        thread.call = thread.kind = state.state;
        continue;
      }
      thread.call = state.call.name;
      thread.kind = state.call.kind;
      try {
        thread.fds = waitedFds(memory, state.call.kind, state.args);
      } catch (error) {
        thread.error = `${errorCode(error)} on /proc/${pid}/mem`;
      }
      if (!until || thread.kind === 'epoll') continue;
      const fd = thread.fds.find((n) => until.has(socketInodeOfLink(waits.fds.get(n)) ?? -1));
      if (fd !== undefined) {
        waits.found = `pid ${pid} thread ${tid} in ${thread.call}(fd ${fd})`;
        return;
      }
    }
  } finally {
    memory.close();
  }
}

/**
 * What pid waits for. With `until` (inodes of listening sockets) it stops as soon as it sees one of them
 * waited on, in an epoll set or by a blocked thread, and says how in `found`.
 */
export function inspectProcess(pid: number, until?: Set<number>): ProcessWaits {
  const waits: ProcessWaits = { pid, fds: new Map(), epolls: new Map(), threads: [] };
  readFds(pid, waits);
  if (waits.error) return waits;
  readEpolls(pid, waits, until);
  if (!waits.found) readThreads(pid, waits, until);
  return waits;
}
