// Readiness with no change to the app: has the child (or anything in its process group) started waiting
// for connections on one of the inherited sockets? Linux shows it in /proc (process-waits.ts):
// - an event loop registered the socket: its inode is in an epoll set (/proc/PID/fdinfo of the epoll fd);
// - a thread is blocked in accept()/accept4() (or, for UDP, recvfrom/recvmsg) on it, or in poll/ppoll or
//   select/pselect6 with it among the fds asked for input (/proc/PID/task/TID/syscall, /proc/PID/mem).
// And one sign that needs no look at how it waits (accepted-connections.ts): the group holds a connection
// accepted from one of the sockets.

import { createGroupTracker, processGroupMembers } from '../procfs/process-group.js';
import { createConnectionCheck, type SocketRef } from './accepted-connections.js';
import { inspectProcess, socketInodeOfLink } from './process-waits.js';

/** The group's membership is read again every this many probes (20 ms apart: pre-fork workers are seen
 * within 100 ms of waiting, 60 ms + a probe by design); the members already known are looked at on every probe. */
export const GROUP_REFRESH_EVERY = 3;
/** The accepted-connection sign is looked for from this probe on (500 ms): the first look at a new TCP
 * socket reads /proc/net/tcp and tcp6, tens of milliseconds of the supervisor's time, which a child that
 * is seen waiting (or says READY=1) by then never costs. */
export const CONNECTIONS_FROM_PROBE = 25;

/** How pid waits on one of the inodes ("pid 7 thread 7 in poll(fd 3)"), or undefined. */
export function acceptingSign(pid: number, inodes: Set<number>): string | undefined {
  return inspectProcess(pid, inodes).found;
}

/**
 * True once some process in the child's group waits for connections on one of the sockets. withGroup
 * false looks at the child alone (cheap: for a generation that drains, is it still accepting?).
 */
export function isAccepting(childPid: number, inodes: Set<number>, withGroup = true): boolean {
  if (inodes.size === 0) return false;
  if (acceptingSign(childPid, inodes)) return true;
  if (!withGroup) return false;
  return processGroupMembers(childPid).some((pid) => pid !== childPid && acceptingSign(pid, inodes));
}

export interface AcceptProbe {
  /** One look: how the group was seen ready, or undefined. Call it every ACCEPT_POLL_MS. */
  probe(): string | undefined;
  /** The group's pids, instead of a look (after the sign: settle.ts); read again as often as by probe(). */
  members(): number[];
}

/** A probe for the group led by childPid, keeping what it learnt (membership, sockets looked up) between looks. */
export function createAcceptProbe(childPid: number, inodes: Set<number>): AcceptProbe {
  const group = createGroupTracker(childPid);
  const connections = createConnectionCheck(inodes);
  let round = 0;
  const members = () => {
    if (round++ % GROUP_REFRESH_EVERY === 0) group.refresh();
    return group.members();
  };
  return {
    members,
    probe() {
      const pids = members();
      const sockets: SocketRef[] = [];
      const lookForConnections = round > CONNECTIONS_FROM_PROBE;
      for (const pid of pids) {
        const waits = inspectProcess(pid, inodes);
        if (waits.found) return `accepting on an inherited socket: ${waits.found}`;
        if (!lookForConnections) continue;
        for (const [fd, link] of waits.fds) {
          const inode = socketInodeOfLink(link);
          if (inode !== undefined && !inodes.has(inode)) sockets.push({ pid, fd, inode });
        }
      }
      const accepted = lookForConnections ? connections.find(sockets) : undefined;
      return accepted && `an accepted connection: ${accepted}`;
    },
  };
}
