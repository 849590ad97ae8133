// What one thread is doing, from /proc/PID/task/TID/syscall: "running" (on a CPU right now), "-1 sp pc"
// (stopped outside any syscall), or "NR arg1 arg2 arg3 arg4 arg5 arg6 sp pc" in hex while it is blocked in
// syscall NR. Reading it needs the same right as ptrace (root, or the same uid and a dumpable process).
import { errorCode, readProcText } from '../procfs/proc-file.js';
import { type Syscall, syscallOf } from './syscalls.js';

export type ThreadSyscall =
  | { state: 'running' }
  | { state: 'user' }
  | { state: 'syscall'; call: Syscall; args: bigint[] }
  | { state: 'unreadable'; code: string };

export function parseSyscallLine(text: string): ThreadSyscall {
  const fields = text.trim().split(' ');
  if (fields[0] === 'running') return { state: 'running' };
  const nr = Number(fields[0]);
  if (!Number.isInteger(nr) || nr < 0) return { state: 'user' };
  // Six arguments, then the stack and instruction pointers.
  const args = fields.slice(1, 7).map((hex) => BigInt(hex));
  return { state: 'syscall', call: syscallOf(nr), args };
}

export function readThreadSyscall(pid: number, tid: number | string): ThreadSyscall {
  try {
    return parseSyscallLine(readProcText(`/proc/${pid}/task/${tid}/syscall`));
  } catch (error) {
    return { state: 'unreadable', code: errorCode(error) };
  }
}
