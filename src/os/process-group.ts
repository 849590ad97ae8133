// Which processes are in a child's process group (the child leads its own group and session; a wrapper
// such as `npm start`, or a pre-fork server's master, leaves the accepting to processes below it).
// Linux has no list of a group's members: each /proc/PID/stat says its group, and reading one costs
// 15-50 µs, so reading them all every few polls on a host with thousands of processes would cost more than
// the rest of the probe. The tracker reads far fewer, using two facts:
// - pids are handed out in increasing order (wrapping at pid_max), and every member of the group was
//   created after the child that leads it (a process can join a group only of its own session, and the
//   session was created by the child). So only pids allocated after the child's can be members, and their
//   stat is read once, when they first appear, then again only while they could be in the group or join it
//   (members, and processes of the group's session);
// - the last field of /proc/loadavg is the last pid allocated in our pid namespace (every process below
//   tsdaemon gets a pid there too): while it has not moved, no process or thread was created, and /proc is
//   not listed again.
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
      let pids: number[];
      if (last === undefined) pids = allPids();
      else if (last === listedAt) pids = [...seen.keys()];
      else pids = allPids().filter((pid) => allocatedAfter(pid, pgid, last));
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

/** Pids in process group pgid now, by reading every /proc/PID/stat (for one-off questions). */
export function processGroupMembers(pgid: number): number[] {
  return allPids().filter((pid) => readProcStat(pid)?.pgrp === pgid);
}
