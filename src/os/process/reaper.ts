// Zombie reaping for PID 1. In a container tsdaemon is often PID 1, so every orphan in the container is
// re-parented to it, and each must be wait()ed for or it stays a zombie (an entry in the process table)
// for good. A waitpid(-1) would steal the exit statuses of the processes libuv spawned and waits for by
// pid. So on each SIGCHLD this lists our children (/proc/self/task/*/children) and waits, by pid and
// without blocking, for every one that tsdaemon did not spawn itself (own-children.ts): an orphan that
// exited is reaped at once, one still running is left as it is.
import { readdirSync, readFileSync } from 'node:fs';
import type { NativeAddon } from '../native.js';
import { allPids, readProcStat } from '../procfs/proc-stat.js';
import { isOwnChild } from './own-children.js';

/** Pids of our children: the per-thread children lists, or a scan of /proc where those are missing. */
function childPids(): number[] {
  const pids = new Set<number>();
  try {
    for (const task of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'latin1').split(' ')) {
        if (pid) pids.add(Number(pid));
      }
    }
    return [...pids];
  } catch {
    for (const pid of allPids()) if (readProcStat(pid)?.ppid === process.pid) pids.add(pid);
    return [...pids];
  }
}

export interface Reaper {
  /** Orphans reaped so far. */
  readonly reaped: number;
  stop(): void;
}

/** Reap orphaned zombies from now on; onReap is told each one (pid and wait status). */
export function startReaper(addon: NativeAddon, onReap: (pid: number, status: number) => void): Reaper {
  let reaped = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const look = () => {
    scheduled = undefined;
    for (const pid of childPids()) {
      if (isOwnChild(pid)) continue;
      const status = addon.reap(pid);
      if (status >= 0) {
        reaped++;
        onReap(pid, status);
      }
    }
  };
  // Many SIGCHLDs in one turn of the event loop need one look.
  const onChild = () => {
    scheduled ??= setImmediate(look);
  };
  process.on('SIGCHLD', onChild);
  onChild(); // orphans that were there before we started
  return {
    get reaped() {
      return reaped;
    },
    stop() {
      process.off('SIGCHLD', onChild);
      if (scheduled) clearImmediate(scheduled);
    },
  };
}
