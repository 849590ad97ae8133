// Which processes are in a child's process group (the child leads its own group and session; a wrapper
// such as `npm start`, or a pre-fork server's master, leaves the accepting to processes below it).
// Linux has no list of a group's members: each /proc/PID/stat says its group, and reading one costs
// 15-50 µs, so reading them all every few polls on a host with thousands of processes would cost more than
// the rest of the probe. Two facts let the tracker read far fewer:
// - pids are handed out in increasing order (wrapping at pid_max), and when the group's leader also leads
//   its session (tsdaemon spawns its children with setsid), every other member was created after it: a
//   process can join a group of its own session only, and the session began with the leader. So only
//   pids allocated after the leader's can be members. Their stat is read once, when they first appear,
//   then again only while they could be in the group or join it (members, processes of the session);
// - the last field of /proc/loadavg is the last pid allocated in our pid namespace (every process below
//   tsdaemon gets a pid there too): while it has not moved, no process or thread was created, and /proc
//   is not listed again.
// (/proc/PID/task/TID/children would list descendants directly, but it needs CONFIG_PROC_CHILDREN, which
// not every kernel has, and misses members re-parented to init or a subreaper.)
import { tryReadLink, tryReadProcText } from './proc-file.js';
import { allPids, readProcStat } from './proc-stat.js';

interface Seen {
  pgrp: number;
  session: number;
}

export interface GroupTracker {
  /** The group's pids as of the last refresh, the leader first. */
  members(): number[];
  /** Look at /proc again for new members, and for members that left. */
  refresh(): void;
}

/** The last pid allocated, from "0.52 0.58 0.59 2/231 21461"; undefined when /proc is not our pid namespace's. */
function lastPid(): number | undefined {
  if (tryReadLink('/proc/self') !== String(process.pid)) return undefined;
  const last = Number(tryReadProcText('/proc/loadavg')?.trim().split(' ')[4]);
  return Number.isInteger(last) ? last : undefined;
}

/** Was pid allocated after leader, up to last (the allocation wraps around at pid_max)? */
function allocatedAfter(pid: number, leader: number, last: number): boolean {
  return last >= leader ? pid > leader && pid <= last : pid > leader || pid <= last;
}

/** The pids that can be in the group led by pgid; with the last pid allocated when that narrows them. */
function candidates(pgid: number, session: number | undefined, last: number | undefined): number[] {
  const pids = allPids();
  if (last === undefined || session !== pgid) return pids;
  return pids.filter((pid) => pid === pgid || allocatedAfter(pid, pgid, last));
}

export function createGroupTracker(pgid: number): GroupTracker {
  const seen = new Map<number, Seen>();
  let session = readProcStat(pgid)?.session;
  let members = [pgid];
  let listedAt: number | undefined;
  return {
    members: () => members,
    refresh() {
      session = readProcStat(pgid)?.session ?? session;
      // Read before listing /proc: a process created after this read moves it, so the next refresh lists.
      const last = lastPid();
      const pids =
        last !== undefined && last === listedAt ? [...seen.keys()] : candidates(pgid, session, last);
      listedAt = last;
      const now = new Set<number>();
      const found = [pgid];
      for (const pid of pids) {
        if (pid === pgid) continue;
        now.add(pid);
        let known = seen.get(pid);
        if (!known || known.pgrp === pgid || known.session === session) {
          const stat = readProcStat(pid);
          if (!stat) continue;
          known = { pgrp: stat.pgrp, session: stat.session };
          seen.set(pid, known);
        }
        if (known.pgrp === pgid) found.push(pid);
      }
      for (const pid of seen.keys()) if (!now.has(pid)) seen.delete(pid);
      members = found;
    },
  };
}

/** Pids in process group pgid now (one look, for one-off questions such as describeWaiting). */
export function processGroupMembers(pgid: number): number[] {
  const leader = readProcStat(pgid);
  const pids = candidates(pgid, leader?.session, lastPid());
  return pids.filter((pid) => (pid === pgid ? leader : readProcStat(pid))?.pgrp === pgid);
}
