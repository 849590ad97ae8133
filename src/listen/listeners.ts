// Opening the --listen sockets: bind (or adopt an inherited fd), put stream sockets into LISTEN through the
// one-shot helper, name them, and describe them for the child. On any failure everything opened so far is
// closed again and unix socket files we created are removed: a failed start leaves nothing behind.
import { lookup } from 'node:dns/promises';
import { chmodSync, chownSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, isIP } from 'node:net';
import { dirname } from 'node:path';
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN, EXIT_USAGE } from '../exit-codes.js';
import { findGroup, findUser } from '../os/accounts.js';
import { handOverInHelper } from '../os/listen-helper.js';
import { type SocketFacts, socketFacts, socketInode } from '../os/proc-net.js';
import {
  type BoundHandle,
  bindTcp,
  bindUdp,
  bindUnix,
  describeStreamFd,
  SocketError,
  supportsReusePort,
} from '../os/socket-handles.js';
import type { ListenerInfo, ListenerKind } from '../protocol.js';
import {
  defaultListenerName,
  type ListenSpec,
  type TcpSpec,
  type UdpSpec,
  type UnixSpec,
} from './address.js';

/** Node's default listen backlog (and the kernel caps it at net.core.somaxconn). */
export const DEFAULT_BACKLOG = 511;

export interface Listener {
  name: string;
  kind: ListenerKind;
  /** The fd in the supervisor. */
  fd: number;
  host?: string;
  port?: number;
  path?: string;
  backlog?: number;
  inode: number;
  /** True for sockets tsdaemon did not create (&N, systemd): never closed or unlinked by us. */
  inherited: boolean;
  /** For logs and errors: "tcp 127.0.0.1:8080", "unix /run/app.sock", "udp [::1]:53". */
  description: string;
  close(): void;
}

/** What systemd socket activation handed to tsdaemon (LISTEN_FDS, LISTEN_FDNAMES), already checked against LISTEN_PID. */
export interface SystemdSockets {
  count: number;
  names: string[];
}

function hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function describe(kind: ListenerKind, host?: string, port?: number, path?: string): string {
  return kind === 'unix' ? `unix ${path}` : `${kind} ${hostText(host ?? '')}:${port}`;
}

function listenError(spec: ListenSpec, what: string, errno: string, fix: string): TsdaemonError {
  return new TsdaemonError(
    `listen-${errno.toLowerCase()}`,
    `cannot ${what} --listen=${spec.raw}: ${errno} (${fix})`,
    EXIT_LISTEN,
  );
}

function inetFix(errno: string, port: number, kind: 'tcp' | 'udp'): string {
  switch (errno) {
    case 'EADDRINUSE':
      return `another socket holds port ${port}; see who with: ss -${kind === 'tcp' ? 'lt' : 'u'}np 'sport = :${port}'`;
    case 'EACCES':
      return port < 1024
        ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; run tsdaemon as root, or grant it that capability'
        : 'permission denied by the system (a security policy?)';
    case 'EADDRNOTAVAIL':
      return 'the address is not on any interface of this machine';
    case 'EAFNOSUPPORT':
      return 'this machine has no IPv6 (use 0.0.0.0 or an IPv4 address)';
    default:
      return 'see docs/errors.md';
  }
}

async function resolveHost(spec: TcpSpec | UdpSpec): Promise<{ host: string; family: 4 | 6 }> {
  if (spec.host === '') return { host: '', family: 6 };
  const family = isIP(spec.host);
  if (family !== 0) return { host: spec.host, family: family as 4 | 6 };
  try {
    const found = await lookup(spec.host);
    return { host: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new TsdaemonError(
      'listen-unknown-host',
      `cannot resolve host '${spec.host}' in --listen=${spec.raw}: ${errno} (check the name, or use an IP address)`,
      EXIT_LISTEN,
    );
  }
}

async function openInet(
  spec: TcpSpec | UdpSpec,
): Promise<{ handle: BoundHandle; host: string; port: number }> {
  if (spec.reuseport && !supportsReusePort()) {
    throw new TsdaemonError(
      'listen-reuseport-unsupported',
      `--listen=${spec.raw}: reuseport needs Node.js >= 22.12 (this is ${process.version}); drop the option or upgrade Node`,
      EXIT_USAGE,
    );
  }
  const { host, family } = await resolveHost(spec);
  try {
    const handle =
      spec.kind === 'tcp'
        ? bindTcp(host, spec.port, family, spec)
        : await bindUdp(host, spec.port, family, spec);
    const local = handle.local();
    return { handle, host: local?.host ?? host, port: local?.port ?? spec.port };
  } catch (error) {
    if (!(error instanceof SocketError)) throw error;
    throw listenError(spec, 'bind', error.code, inetFix(error.code, spec.port, spec.kind));
  }
}

/** Is something answering on this unix socket file? (A stale file from a crashed server refuses.) */
function unixSocketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(1000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    );
  });
}

async function removeStaleUnixSocket(spec: UnixSpec): Promise<void> {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(spec.path);
  } catch {
    return;
  }
  if (!stat.isSocket()) {
    throw listenError(
      spec,
      'bind',
      'EEXIST',
      `${spec.path} exists and is not a socket; tsdaemon will not replace it`,
    );
  }
  if (await unixSocketAnswers(spec.path)) {
    throw listenError(spec, 'bind', 'EADDRINUSE', `a running process answers on ${spec.path}; stop it first`);
  }
  unlinkSync(spec.path);
}

function unixOwner(spec: UnixSpec): { uid: number; gid: number } | undefined {
  if (spec.owner === undefined && spec.group === undefined) return undefined;
  let uid = -1;
  let gid = -1;
  if (spec.owner !== undefined) {
    const user = findUser(spec.owner);
    if (!user) throw listenError(spec, 'chown', 'ENOENT', `no user '${spec.owner}' on this machine`);
    uid = user.uid;
  }
  if (spec.group !== undefined) {
    const group = findGroup(spec.group);
    if (!group) throw listenError(spec, 'chown', 'ENOENT', `no group '${spec.group}' on this machine`);
    gid = group.gid;
  }
  return { uid, gid };
}

async function openUnix(spec: UnixSpec): Promise<{ handle: BoundHandle; close: () => void }> {
  const owner = unixOwner(spec);
  await removeStaleUnixSocket(spec);
  let handle: BoundHandle;
  try {
    handle = bindUnix(spec.path);
  } catch (error) {
    if (!(error instanceof SocketError)) throw error;
    // libuv reports a missing directory as EACCES too: tell the two apart.
    const directory = dirname(spec.path);
    if (!existsSync(directory)) {
      throw listenError(spec, 'bind', 'ENOENT', `the directory ${directory} does not exist; create it first`);
    }
    const fix = error.code === 'EACCES' ? `no write permission on ${directory}` : `check ${directory}`;
    throw listenError(spec, 'bind', error.code, fix);
  }
  const created = lstatSync(spec.path);
  // Remove the file on close, but only if it is still the one we created (not a successor's).
  const removeFile = () => {
    try {
      const now = lstatSync(spec.path);
      if (now.ino === created.ino && now.dev === created.dev) unlinkSync(spec.path);
    } catch {
      // Already gone.
    }
  };
  try {
    // Before any privilege drop: afterwards the file could no longer be changed.
    if (spec.mode !== undefined) chmodSync(spec.path, spec.mode);
    if (owner) chownSync(spec.path, owner.uid, owner.gid);
  } catch (error) {
    handle.close();
    removeFile();
    const errno = (error as NodeJS.ErrnoException).code ?? 'EPERM';
    throw listenError(spec, 'chmod/chown', errno, 'owner= and group= need root');
  }
  return {
    handle,
    close: () => {
      handle.close();
      removeFile();
    },
  };
}

/** A stream socket that is bound but not listening is in no /proc/net table; libuv can still tell. */
function bindOnlyFacts(fd: number): SocketFacts | undefined {
  const described = describeStreamFd(fd);
  return described ? { ...described, listening: false, stream: true } : undefined;
}

/** Check an inherited fd: open, a socket, of a kind we can pass on. */
function adoptFd(spec: ListenSpec, fd: number, what: string) {
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
  return { inode, facts };
}

interface Opened {
  spec: ListenSpec;
  name?: string;
  kind: ListenerKind;
  fd: number;
  host?: string;
  port?: number;
  path?: string;
  needsListen: boolean;
  inherited: boolean;
  close: () => void;
}

async function openOne(spec: ListenSpec, systemd: SystemdSockets | undefined): Promise<Opened[]> {
  switch (spec.kind) {
    case 'tcp':
    case 'udp': {
      const { handle, host, port } = await openInet(spec);
      const opened: Opened = {
        spec,
        kind: spec.kind,
        fd: handle.fd,
        host,
        port,
        needsListen: spec.kind === 'tcp',
        inherited: false,
        close: handle.close,
      };
      return [opened];
    }
    case 'unix': {
      const { handle, close } = await openUnix(spec);
      return [
        { spec, kind: 'unix', fd: handle.fd, path: spec.path, needsListen: true, inherited: false, close },
      ];
    }
    case 'fd': {
      const { facts } = adoptFd(spec, spec.fd, `fd ${spec.fd}`);
      return [
        {
          spec,
          kind: facts.kind,
          fd: spec.fd,
          ...factsAddress(facts),
          needsListen: facts.stream && (!facts.listening || spec.backlog !== undefined),
          inherited: true,
          close: () => {},
        },
      ];
    }
    case 'systemd':
      return openSystemd(spec, systemd);
  }
}

function factsAddress(facts: { host?: string; port?: number; path?: string }) {
  const out: { host?: string; port?: number; path?: string } = {};
  if (facts.host !== undefined) out.host = facts.host;
  if (facts.port !== undefined) out.port = facts.port;
  if (facts.path !== undefined) out.path = facts.path;
  return out;
}

function openSystemd(
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
    const fdName = systemd.names[i] ?? 'unknown';
    if (spec.fdName !== undefined && fdName !== spec.fdName) continue;
    const fd = 3 + i;
    const { facts } = adoptFd(spec, fd, `systemd socket fd ${fd}`);
    const name =
      spec.name !== undefined && out.length === 0 ? spec.name : fdName === 'unknown' ? undefined : fdName;
    const opened: Opened = {
      spec,
      kind: facts.kind,
      fd,
      ...factsAddress(facts),
      needsListen: facts.stream && (!facts.listening || spec.backlog !== undefined),
      inherited: true,
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

function assignNames(opened: Opened[]): string[] {
  const names: string[] = [];
  const taken = new Set<string>();
  for (const entry of opened) {
    const explicit = entry.name ?? entry.spec.name;
    if (explicit !== undefined && entry.spec.kind !== 'systemd' && taken.has(explicit)) {
      throw new TsdaemonError(
        'usage-duplicate-name',
        `--listen=${entry.spec.raw}: the name '${explicit}' is used twice; names must be unique`,
        EXIT_USAGE,
      );
    }
    let name = explicit ?? defaultListenerName(entry.spec);
    for (let n = 2; taken.has(name); n++) name = `${explicit ?? defaultListenerName(entry.spec)}-${n}`;
    taken.add(name);
    names.push(name);
  }
  return names;
}

/**
 * Bind, adopt and listen on every --listen socket, in order. Every stream socket is in the LISTEN state when
 * this resolves; the caller hands fds to children. Throws TsdaemonError; nothing stays open on failure.
 */
export async function openListeners(specs: ListenSpec[], systemd?: SystemdSockets): Promise<Listener[]> {
  const opened: Opened[] = [];
  const closeAll = () => {
    for (const entry of opened) entry.close();
  };
  try {
    for (const spec of specs) opened.push(...(await openOne(spec, systemd)));
    const names = assignNames(opened);
    // Every socket goes through the helper: stream sockets that need it are listened on, and all of them
    // are handed over in blocking mode, as systemd does.
    const results = await handOverInHelper(
      opened.map((entry) => ({
        fd: entry.fd,
        stream: entry.kind !== 'udp',
        backlog: entry.needsListen ? (entry.spec.backlog ?? DEFAULT_BACKLOG) : null,
      })),
    );
    results.forEach((result, i) => {
      const entry = opened[i] as Opened;
      // Trust, but verify with the kernel: a stream socket must now be in the LISTEN state.
      const notListening =
        entry.kind !== 'udp' && socketFacts(socketInode(entry.fd) ?? 0)?.listening === false;
      const errno = result ?? (notListening ? 'EADDRINUSE' : undefined);
      if (errno === undefined) return;
      const fix = entry.kind === 'tcp' ? inetFix(errno, entry.port ?? 0, 'tcp') : 'see docs/errors.md';
      throw listenError(entry.spec, 'listen on', errno, fix);
    });
    return opened.map((entry, i) => {
      const listener: Listener = {
        name: names[i] as string,
        kind: entry.kind,
        fd: entry.fd,
        // An inherited socket that was already listening keeps the backlog it had (unknown to us).
        backlog: entry.needsListen ? (entry.spec.backlog ?? DEFAULT_BACKLOG) : entry.spec.backlog,
        inode: socketInode(entry.fd) ?? 0,
        inherited: entry.inherited,
        description: describe(entry.kind, entry.host, entry.port, entry.path),
        close: entry.close,
      };
      if (entry.host !== undefined) listener.host = entry.host;
      if (entry.port !== undefined) listener.port = entry.port;
      if (entry.path !== undefined) listener.path = entry.path;
      return listener;
    });
  } catch (error) {
    closeAll();
    throw error;
  }
}

/** The listeners as the child sees them: fd 3, 4, ... in order. */
export function listenerInfos(listeners: Listener[], firstFd: number): ListenerInfo[] {
  return listeners.map((listener, i) => {
    const info: ListenerInfo = {
      name: listener.name,
      fd: firstFd + i,
      kind: listener.kind,
      inode: listener.inode,
    };
    if (listener.host !== undefined) info.host = listener.host;
    if (listener.port !== undefined) info.port = listener.port;
    if (listener.path !== undefined) info.path = listener.path;
    if (listener.kind !== 'udp' && listener.backlog !== undefined) info.backlog = listener.backlog;
    return info;
  });
}
