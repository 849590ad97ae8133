// Which processes are in a child's process group (the child leads its own group and session, and a wrapper
// such as `npm start`, or a pre-fork server's master, leaves the accepting done by processes below it).
// Linux has no list of a group's members: every /proc/PID/stat says its group. Reading all of them costs
// about 15 µs each, so on a host with thousands of processes a full scan every few polls would cost more
// than the rest of the probe. The tracker reads the stat of a pid once, when it first appears in /proc,
// and again only for processes that could be in the group or join it: those of the group's session (a
// process can only join a group of its own session, and every new process starts in its parent's group).
// (/proc/PID/task/TID/children would give descendants directly, but it needs CONFIG_PROC_CHILDREN, and
// misses members re-parented to init or a subreaper.)
import { allPids, readProcStat } from './proc-stat.js';

interface Seen {
  pgrp: number;
  session: number;
}

export interface GroupTracker {
  /** The group's pids as of the last refresh, the leader first. */
  members(): number[];
  /** Read /proc again: the stat of new pids, and again of the known members and their session's processes. */
  refresh(): void;
}

export function createGroupTracker(pgid: number): GroupTracker {
  const seen = new Map<number, Seen>();
  let session = readProcStat(pgid)?.session;
  let members = [pgid];
  return {
    members: () => members,
    refresh() {
      session = readProcStat(pgid)?.session ?? session;
      const now = new Set<number>();
      const found = [pgid];
      for (const pid of allPids()) {
        now.add(pid);
        let known = seen.get(pid);
        if (!known || known.pgrp === pgid || known.session === session) {
          const stat = readProcStat(pid);
          if (!stat) continue;
          known = { pgrp: stat.pgrp, session: stat.session };
          seen.set(pid, known);
        }
        if (known.pgrp === pgid && pid !== pgid) found.push(pid);
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
