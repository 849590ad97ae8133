// What a child that is not ready yet waits in, for the operator: for each process of its group, the
// syscall each thread is blocked in and the fds it waits on ("pid 812 thread 812 in poll(fd 3 [listener
// web], fd 7)"), and, when tsdaemon cannot look, why, with the fix. Called every few seconds while a
// generation is not ready, so it reads everything afresh (the whole of /proc for the group's members).
import { statSync } from 'node:fs';
import { isAlive } from '../process/alive.js';
import { tryReadProcText } from '../procfs/proc-file.js';
import { processGroupMembers } from '../procfs/process-group.js';
import { inspectProcess, type ProcessWaits, socketInodeOfLink, type ThreadWait } from './process-waits.js';
import { SYSCALLS_KNOWN } from './syscalls.js';

export interface WaitingReport {
  /** One entry per process of the group: "pid 812 thread 812 in poll(fd 3 [listener web], fd 7)". */
  processes: string[];
  /** Why tsdaemon cannot see how (some of) the group waits, with the fix; undefined when it can see it all. */
  reason?: string;
  /** processes and reason in one line, for the log and `status`. */
  text: string;
}

const FIX = 'use --ready=fd, --ready=ipc or --ready=timer:DURATION';
/** Processes listed one by one in the text; the rest are counted. */
const MAX_PROCESSES = 6;

/** The hidepid option of the /proc that tsdaemon sees ("invisible", "2", …), or undefined. */
export function procHidepid(): string | undefined {
  // The last /proc mount in the list is the one on top, the one tsdaemon sees.
  let hidepid: string | undefined;
  for (const line of (tryReadProcText('/proc/self/mountinfo') ?? '').split('\n')) {
    const [mount, options] = line.split(' - ');
    if (mount?.split(' ')[4] !== '/proc' || !options?.startsWith('proc ')) continue;
    hidepid = /\bhidepid=([^,\s]+)/.exec(options)?.[1];
  }
  return hidepid;
}

/** The real uid pid runs as (from /proc/PID/status, readable even when the process is not dumpable). */
function uidOf(pid: number): number | undefined {
  const status = tryReadProcText(`/proc/${pid}/status`);
  const uid = status && /^Uid:\s+(\d+)/m.exec(status)?.[1];
  if (uid) return Number(uid);
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/** Why /proc does not show pid's waits (error is "EACCES on /proc/812/fd" or alike). */
function cannotLook(pid: number, error: string): string {
  const me = process.geteuid?.() ?? 0;
  const hidepid = procHidepid();
  if (error.startsWith('ENOENT') && isAlive(pid)) {
    if (hidepid !== undefined) {
      return `/proc is mounted with hidepid=${hidepid}, so tsdaemon (uid ${me}) cannot see pid ${pid} of another user: mount /proc without hidepid (or with gid= a group of tsdaemon's user), or ${FIX}`;
    }
    return `pid ${pid} is not in tsdaemon's /proc (another pid namespace?): ${FIX}`;
  }
  if (error.startsWith('ENOENT') || error.startsWith('ESRCH')) return `pid ${pid} is gone`;
  const uid = uidOf(pid);
  if (uid !== undefined && uid !== me) {
    return `pid ${pid} runs as uid ${uid} and tsdaemon as uid ${me}, so it cannot read what it waits in (${error}): run the child as tsdaemon's --user, or ${FIX}`;
  }
  return `pid ${pid} is not dumpable (it changed its uid or gid, or runs a program its user cannot read), so tsdaemon cannot read what it waits in (${error}): ${FIX}`;
}

function fdLabel(waits: ProcessWaits, fd: number, names: ReadonlyMap<number, string>): string {
  const inode = socketInodeOfLink(waits.fds.get(fd));
  if (inode === undefined || !names.has(inode)) return `fd ${fd}`;
  const name = names.get(inode);
  return name ? `fd ${fd} [listener ${name}]` : `fd ${fd} [listener]`;
}

function describeCall(waits: ProcessWaits, thread: ThreadWait, names: ReadonlyMap<number, string>): string {
  if (thread.kind === 'running') return 'running';
  if (thread.kind === 'user') return 'user space';
  if (thread.kind === 'epoll') {
    const epfd = thread.fds[0] ?? -1;
    const watched = (waits.epolls.get(epfd) ?? []).map((w) => fdLabel(waits, w.fd, names));
    return `${thread.call}(epoll fd ${epfd}${watched.length > 0 ? ` watching ${watched.join(', ')}` : ''})`;
  }
  if (thread.fds.length === 0) return thread.call;
  return `${thread.call}(${thread.fds.map((fd) => fdLabel(waits, fd, names)).join(', ')})`;
}

function describeProcess(waits: ProcessWaits, names: ReadonlyMap<number, string>): string {
  if (waits.threads.length === 1) {
    const [thread] = waits.threads as [ThreadWait];
    return `pid ${waits.pid} in ${describeCall(waits, thread, names)}`;
  }
  // Threads in the same call on the same fds are counted, not listed: a Node child has a dozen in futex.
  const same = new Map<string, number[]>();
  for (const thread of waits.threads) {
    const call = describeCall(waits, thread, names);
    same.set(call, [...(same.get(call) ?? []), thread.tid]);
  }
  const parts = [...same].map(([call, tids]) =>
    tids.length === 1 ? `thread ${tids[0]} in ${call}` : `${tids.length} threads in ${call}`,
  );
  return `pid ${waits.pid}: ${parts.join(', ')}`;
}

/**
 * What the process group led by pid waits in, and why tsdaemon cannot see it when it cannot. listeners
 * are the inherited sockets' inodes, with their --listen names when a Map is given.
 */
export function describeWaiting(
  pid: number,
  listeners: ReadonlyMap<number, string> | Iterable<number>,
): WaitingReport {
  const names: ReadonlyMap<number, string> =
    listeners instanceof Map ? listeners : new Map([...listeners].map((inode) => [inode, '']));
  const members = [pid, ...processGroupMembers(pid).filter((p) => p !== pid)];
  const processes: string[] = [];
  const reasons: string[] = [];
  let holdsListener = false;
  let sawAll = true;
  for (const member of members) {
    const waits = inspectProcess(member);
    if (waits.error) {
      sawAll = false;
      reasons.push(cannotLook(member, waits.error));
      continue;
    }
    for (const link of waits.fds.values()) {
      if (names.has(socketInodeOfLink(link) ?? -1)) holdsListener = true;
    }
    processes.push(describeProcess(waits, names));
    const unreadable = waits.threads.find((t) => t.error);
    if (unreadable?.error) {
      sawAll = false;
      reasons.push(cannotLook(member, unreadable.error));
    }
    const uring = waits.threads.find((t) => t.kind === 'io_uring');
    if (uring) {
      reasons.push(
        `pid ${member} waits in io_uring_enter, and what io_uring waits for is not visible in /proc: ${FIX}`,
      );
    }
  }
  if (!SYSCALLS_KNOWN) {
    reasons.push(
      `tsdaemon knows the syscall numbers of x86-64 and arm64 only; on ${process.arch} it sees epoll sets and accepted connections only: ${FIX}`,
    );
  }
  if (sawAll && !holdsListener && names.size > 0) {
    reasons.push(
      `no process of the group has an inherited socket open (it closed fd 3, or binds a socket of its own): ${FIX}`,
    );
  }
  const listed = processes.slice(0, MAX_PROCESSES);
  if (processes.length > MAX_PROCESSES) listed.push(`${processes.length - MAX_PROCESSES} more processes`);
  const reason = reasons[0];
  const text = [listed.join('; '), reason].filter(Boolean).join('; ') || `pid ${pid}: nothing to show`;
  return reason === undefined ? { processes, text } : { processes, reason, text };
}
