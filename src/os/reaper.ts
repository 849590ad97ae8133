// Zombie reaping for PID 1. In a container tsdaemon is often PID 1, so every orphan in the container is
// re-parented to it, and each must be wait()ed for or it stays a zombie (an entry in the process table)
// for good. libuv wait()s only for the processes it spawned, by pid, and a waitpid(-1) here would steal
// their exit statuses from it. So this reaps only zombies that libuv has had its chance at: a child of
// ours that is still a zombie at a second look, at least SETTLE_MS later with a turn of the event loop in
// between, was not spawned by libuv (libuv reaps its own on the SIGCHLD that the first look answered).
import { readdirSync, readFileSync } from 'node:fs';
import type { NativeAddon } from './native.js';
import { allPids, readProcStat } from './proc-stat.js';

const SETTLE_MS = 500;

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
  // zombie pid -> when first seen and its start time
  const seen = new Map<number, { at: number; start: string }>();
  let timer: NodeJS.Timeout | undefined;
  let reaped = 0;
  const look = () => {
    timer = undefined;
    const now = Date.now();
    const zombies = new Map<number, string>();
    for (const pid of childPids()) {
      const stat = readProcStat(pid);
      if (stat?.state === 'Z' && stat.ppid === process.pid) zombies.set(pid, stat.start);
    }
    for (const pid of seen.keys()) if (!zombies.has(pid)) seen.delete(pid);
    for (const [pid, start] of zombies) {
      const first = seen.get(pid);
      if (!first || first.start !== start) {
        seen.set(pid, { at: now, start });
      } else if (now - first.at >= SETTLE_MS) {
        seen.delete(pid);
        const status = addon.reap(pid);
        if (status >= 0) {
          reaped++;
          onReap(pid, status);
        }
      }
    }
    if (seen.size > 0) schedule(SETTLE_MS);
  };
  const schedule = (delay: number) => {
    if (timer === undefined) timer = setTimeout(look, delay).unref();
  };
  const onChild = () => schedule(0);
  process.on('SIGCHLD', onChild);
  schedule(0); // orphans that were there before we started
  return {
    get reaped() {
      return reaped;
    },
    stop() {
      process.off('SIGCHLD', onChild);
      if (timer) clearTimeout(timer);
    },
  };
}
