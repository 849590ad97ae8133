// Sockets tsdaemon did not create: an fd it inherited (--listen=&N) and systemd socket activation
// (--listen=systemd[:NAME]). They are checked (open, a socket, a kind we can pass on) but never closed.
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN } from '../exit-codes.js';
import { loadNative } from '../os/native.js';
import { type SocketFacts, socketFacts, socketInode } from '../os/procfs/proc-net.js';
import { describeStreamFd } from '../os/sockets/socket-handles.js';
import type { ListenSpec } from './address.js';
import { closeFd, type Opened } from './opened.js';

/** What systemd socket activation handed to tsdaemon (LISTEN_FDS, LISTEN_FDNAMES), already checked against LISTEN_PID. */
export interface SystemdSockets {
  count: number;
  names: string[];
}

/** A stream socket that is bound but not listening is in no /proc/net table; libuv can still tell. */
function bindOnlyFacts(fd: number): SocketFacts | undefined {
  const described = describeStreamFd(fd);
  return described ? { ...described, listening: false, stream: true } : undefined;
}

/** Check an inherited fd: open, a socket, of a kind we can pass on. */
export function adoptFd(spec: ListenSpec, fd: number, what: string) {
  const inode = socketInode(fd);
  if (inode === undefined) {
    const fix = `nothing usable is open on fd ${fd}; start tsdaemon with the socket on that fd`;
    throw new TsdaemonError(
      'listen-bad-fd',
      `cannot use ${what} in --listen=${spec.raw}: not an open socket (${fix})`,
      EXIT_LISTEN,
    );
  }
  const facts = socketFacts(inode) ?? bindOnlyFacts(fd);
  if (!facts) {
    throw new TsdaemonError(
      'listen-bad-fd',
      `cannot use ${what} in --listen=${spec.raw}: unknown socket type (tcp, udp or unix expected)`,
      EXIT_LISTEN,
    );
  }
  if (facts.kind !== 'udp' && !facts.stream) {
    throw new TsdaemonError(
      'listen-bad-fd',
      `cannot use ${what} in --listen=${spec.raw}: a unix datagram socket (stream expected)`,
      EXIT_LISTEN,
    );
  }
  // Inherited fds come without close-on-exec, so every process tsdaemon starts would hold them (the death
  // watcher, for one, keeping the port after a SIGKILL). The children get them all the same: libuv hands
  // each one on explicitly.
  loadNative().addon?.setCloexec(fd);
  return { inode, facts };
}

export function factsAddress(facts: { host?: string; port?: number; path?: string }) {
  const out: { host?: string; port?: number; path?: string } = {};
  if (facts.host !== undefined) out.host = facts.host;
  if (facts.port !== undefined) out.port = facts.port;
  if (facts.path !== undefined) out.path = facts.path;
  return out;
}

export function openSystemd(
  spec: Extract<ListenSpec, { kind: 'systemd' }>,
  systemd: SystemdSockets | undefined,
): Opened[] {
  if (!systemd || systemd.count === 0) {
    throw new TsdaemonError(
      'listen-no-systemd-sockets',
      `--listen=${spec.raw}: systemd passed no sockets (LISTEN_FDS is unset or LISTEN_PID is not tsdaemon's pid); run under a .socket unit or systemd-socket-activate`,
      EXIT_LISTEN,
    );
  }
  const out: Opened[] = [];
  for (let i = 0; i < systemd.count; i++) {
    // An empty or missing name (LISTEN_FDNAMES unset, or "a::c") means systemd named nothing.
    const fdName = systemd.names[i] || 'unknown';
    if (spec.fdName !== undefined && fdName !== spec.fdName) continue;
    const fd = 3 + i;
    const { facts } = adoptFd(spec, fd, `systemd socket fd ${fd}`);
    const name =
      spec.name !== undefined && out.length === 0 ? spec.name : fdName === 'unknown' ? `fd${fd}` : fdName;
    const opened: Opened = {
      spec,
      kind: facts.kind,
      fd,
      ...factsAddress(facts),
      needsListen: facts.stream && (!facts.listening || spec.backlog !== undefined),
      inherited: true,
      release: () => closeFd(fd),
      close: () => {},
    };
    if (name !== undefined) opened.name = name;
    out.push(opened);
  }
  if (out.length === 0) {
    throw new TsdaemonError(
      'listen-no-systemd-sockets',
      `--listen=${spec.raw}: systemd passed no socket named '${spec.fdName}' (it passed: ${systemd.names.join(', ') || 'unnamed ones'}; set FileDescriptorName= in the .socket unit)`,
      EXIT_LISTEN,
    );
  }
  return out;
}
