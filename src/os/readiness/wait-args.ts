// The fds a thread blocked in poll/ppoll or select/pselect6 waits on. The syscall's arguments (from
// /proc/PID/task/TID/syscall) point into the process's memory, which /proc/PID/mem reads at that address:
//   poll/ppoll(struct pollfd *fds, nfds_t n, …)     struct pollfd { int fd; short events; short revents; }
//   select/pselect6(int nfds, fd_set *readfds, …)   fd_set: a bit per fd in 64-bit words
// The kernel writes revents and the result sets only on return, so while the thread waits the memory holds
// what it asked for. x86-64 and arm64 are both little-endian.
import { closeSync, openSync, readSync } from 'node:fs';

const POLLFD_BYTES = 8;
const POLLIN = 0x001;
const POLLPRI = 0x002;
const POLLRDNORM = 0x040;
/** A poll set bigger than this is read only this far (a listener is usually among the first). */
export const MAX_POLL_FDS = 65_536;
/** glibc's fd_set holds 1024 fds (FD_SETSIZE), the kernel takes any nfds: read no further than this. */
const MAX_SELECT_FDS = 65_536;

/** One process's memory, opened on first use. read() throws the fs error (EACCES, EIO, …). */
export interface Memory {
  read(address: bigint, length: number): Buffer;
  close(): void;
}

export function openMemory(pid: number): Memory {
  let fd: number | undefined;
  return {
    read(address, length) {
      fd ??= openSync(`/proc/${pid}/mem`, 'r');
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const read = readSync(fd, buffer, done, length - done, address + BigInt(done));
        if (read === 0) break;
        done += read;
      }
      return buffer.subarray(0, done);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** poll/ppoll: the fds asked for input (POLLIN, POLLRDNORM or POLLPRI); negative fds are ignored ones. */
export function polledFds(memory: Memory, address: bigint, count: bigint): number[] {
  const n = Number(count > BigInt(MAX_POLL_FDS) ? MAX_POLL_FDS : count);
  if (n <= 0 || address === 0n) return [];
  const bytes = memory.read(address, n * POLLFD_BYTES);
  const fds: number[] = [];
  for (let at = 0; at + POLLFD_BYTES <= bytes.length; at += POLLFD_BYTES) {
    const fd = bytes.readInt32LE(at);
    const events = bytes.readUInt16LE(at + 4);
    if (fd >= 0 && (events & (POLLIN | POLLPRI | POLLRDNORM)) !== 0) fds.push(fd);
  }
  return fds;
}

/** select/pselect6: the fds set in readfds (the fds below nfds). */
export function selectedFds(memory: Memory, nfds: bigint, readfds: bigint): number[] {
  const n = Number(nfds > BigInt(MAX_SELECT_FDS) ? MAX_SELECT_FDS : nfds);
  if (n <= 0 || readfds === 0n) return [];
  const bytes = memory.read(readfds, Math.ceil(n / 64) * 8);
  const fds: number[] = [];
  for (let fd = 0; fd < n && fd >> 3 < bytes.length; fd++) {
    if (((bytes[fd >> 3] as number) >> (fd & 7)) & 1) fds.push(fd);
  }
  return fds;
}
