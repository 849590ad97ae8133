// A process as /proc/PID/stat describes it: state, parent, process group, session and start time.
import { readdirSync } from 'node:fs';
import { readProcText } from './proc-file.js';

export interface ProcStat {
  /** R, S, D, Z, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** start time in clock ticks since boot: tells a reused pid from the process seen before */
  start: string;
}

/**
 * The fields of a /proc/PID/stat or /proc/PID/task/TID/stat text after "pid (comm) ", so that the state
 * (field 3 in proc(5)) is [0]: comm may hold spaces and parentheses, so split after the last ')'.
 */
export function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The stat of pid, or undefined when it is gone (or /proc is not there). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readProcText(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  const fields = statFields(text); // S ppid pgrp session ...
  return {
    state: fields[0] ?? '',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    start: fields[19] ?? '',
  };
}

/** Every pid in /proc. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}
