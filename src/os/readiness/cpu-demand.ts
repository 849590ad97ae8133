// How much CPU a group of processes wants: for each of their threads, the time it ran plus the time it
// waited, runnable, for a CPU (/proc/PID/task/TID/schedstat, in ns). Counting the wait makes a process
// that is busy but starved on a loaded host count as busy, which its CPU time alone would not: two
// processes that each want a whole core of a host that has one each get half of it. Kernels without
// schedstat (CONFIG_SCHED_INFO off) have the CPU time alone, in clock ticks (/proc/PID/task/TID/stat).
import { readdirSync } from 'node:fs';
import { tryReadProcText } from '../procfs/proc-file.js';
import { statFields } from '../procfs/proc-stat.js';

/** Linux reports CPU times in /proc in USER_HZ ticks, 100 per second on every architecture. */
const NS_PER_TICK = 10_000_000;

/** Thread id → the CPU it wanted since it started, in ns. */
export type DemandSample = Map<number, number>;

function threadDemandNs(pid: number, tid: string): number | undefined {
  const schedstat = tryReadProcText(`/proc/${pid}/task/${tid}/schedstat`);
  if (schedstat !== undefined) {
    const [run, wait] = schedstat.split(' ').map(Number);
    if (Number.isFinite(run) && Number.isFinite(wait)) return (run as number) + (wait as number);
  }
  const stat = tryReadProcText(`/proc/${pid}/task/${tid}/stat`);
  if (stat === undefined) return undefined;
  // utime and stime are fields 14 and 15 of proc(5), [11] and [12] after the state.
  const fields = statFields(stat);
  return (Number(fields[11]) + Number(fields[12])) * NS_PER_TICK;
}

/** The demand of every thread of the pids now; a process that is gone is left out. */
export function sampleDemand(pids: number[]): DemandSample {
  const sample: DemandSample = new Map();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const ns = threadDemandNs(pid, tid);
      if (ns !== undefined) sample.set(Number(tid), ns);
    }
  }
  return sample;
}

/**
 * The CPU wanted between two samples, in ns. A thread new since `before` counts from its start; one that
 * ended in between is missed (its last moments are not counted).
 */
export function demandBetween(before: DemandSample, after: DemandSample): number {
  let ns = 0;
  for (const [tid, value] of after) ns += Math.max(0, value - (before.get(tid) ?? 0));
  return ns;
}
