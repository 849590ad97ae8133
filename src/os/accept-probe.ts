// Readiness with no change to the app: has the child (or anything in its process group) started
// accepting on one of the inherited sockets? Linux shows it two ways (node-notes.md):
// - an event loop registered the socket: its inode appears as "ino:<hex>" in /proc/PID/fdinfo of an epoll fd;
// - a thread is blocked in accept()/accept4() (or, for UDP, recvfrom/recvmsg) on an fd that is the socket:
//   /proc/PID/task/TID/syscall starts with that syscall's number and the fd as first argument.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { socketInode } from './proc-net.js';
import { allPids, readProcStat } from './proc-stat.js';

// Syscall numbers of the calls that mean "waiting for a connection or datagram on this fd".
const WAITING_SYSCALLS: Record<string, number[]> = {
  x64: [43, 288, 45, 47], // accept, accept4, recvfrom, recvmsg
  arm64: [202, 242, 207, 212],
};

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Pids in process group pgid (the child leads its own group). */
export function processGroupMembers(pgid: number): number[] {
  return allPids().filter((pid) => readProcStat(pid)?.pgrp === pgid);
}

function epollWatches(pid: number, inodes: Set<number>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    if (link(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:[eventpoll]') continue;
    const info = read(`/proc/${pid}/fdinfo/${fd}`) ?? '';
    for (const match of info.matchAll(/\bino:([0-9a-f]+)/g)) {
      if (inodes.has(Number.parseInt(match[1] as string, 16))) return true;
    }
  }
  return false;
}

function blockedOnSocket(pid: number, inodes: Set<number>): boolean {
  const waiting = WAITING_SYSCALLS[process.arch];
  if (!waiting) return false;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  for (const tid of tasks) {
    const [nr, arg] = (read(`/proc/${pid}/task/${tid}/syscall`) ?? '').trim().split(' ');
    if (!waiting.includes(Number(nr)) || arg === undefined) continue;
    const inode = socketInode(Number.parseInt(arg, 16), pid);
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}

function waitsOnSocket(pid: number, inodes: Set<number>): boolean {
  return epollWatches(pid, inodes) || blockedOnSocket(pid, inodes);
}

/**
 * True once some process in the child's group waits for connections on one of the sockets. The child
 * itself is looked at every time; the rest of its process group (a wrapper such as `npm start` that runs
 * the server as a grandchild) only when withGroup is set, since that means reading every /proc/PID/stat.
 */
export function isAccepting(childPid: number, inodes: Set<number>, withGroup = true): boolean {
  if (inodes.size === 0) return false;
  if (waitsOnSocket(childPid, inodes)) return true;
  if (!withGroup) return false;
  return processGroupMembers(childPid).some((pid) => pid !== childPid && waitsOnSocket(pid, inodes));
}
