// Opening the --listen sockets: bind (or adopt an inherited fd), put stream sockets into LISTEN through the
// one-shot helper, name them, and describe them for the child. On any failure everything opened so far is
// closed again and unix socket files we created are removed: a failed start leaves nothing behind.

import type { ListenerInfo, ListenerKind } from '../child-protocol.js';
import { TsdaemonError } from '../errors.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { loadNative } from '../os/native.js';
import { socketFacts, socketFactsOf, socketInode } from '../os/procfs/proc-net.js';
import { handOverInHelper } from '../os/sockets/listen-helper.js';
import { defaultListenerName, type ListenSpec } from './address.js';
import { adoptFd, factsAddress, openSystemd, type SystemdSockets } from './adopted.js';
import { inetFix, openInet } from './inet.js';
import { closeFd, describe, listenError, type Opened } from './opened.js';
import { openUnix } from './unix.js';

export type { SystemdSockets } from './adopted.js';

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
  /**
   * Close tsdaemon's own copy of the socket, once (later calls do nothing). The socket lives on while a
   * child holds it; when the last one closes it, new connections are refused.
   */
  release(): void;
  /** release(), then remove the unix socket file tsdaemon created (never one of an inherited socket). */
  close(): void;
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
        release: handle.close,
        close: handle.close,
      };
      return [opened];
    }
    case 'unix': {
      const { handle, close, removeFile } = await openUnix(spec);
      return [
        {
          spec,
          kind: 'unix',
          fd: handle.fd,
          path: spec.path,
          needsListen: true,
          inherited: false,
          release: handle.close,
          close,
          removeFile,
        },
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
          release: () => closeFd(spec.fd),
          close: () => {},
        },
      ];
    }
    case 'systemd':
      return openSystemd(spec, systemd);
  }
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
        blocking: !entry.inherited,
      })),
    );
    // Trust, but verify with the kernel: a stream socket must now be in the LISTEN state.
    const { addon } = loadNative();
    const streams = opened.filter((entry) => entry.kind !== 'udp');
    const facts = addon ? undefined : socketFactsOf(streams.map((entry) => socketInode(entry.fd) ?? 0));
    results.forEach((result, i) => {
      const entry = opened[i] as Opened;
      const notListening =
        entry.kind !== 'udp' &&
        (addon ? !addon.isListening(entry.fd) : facts?.get(socketInode(entry.fd) ?? 0)?.listening === false);
      const errno = result ?? (notListening ? 'EADDRINUSE' : undefined);
      if (errno === undefined) return;
      const fix = entry.kind === 'tcp' ? inetFix(errno, entry.port ?? 0, 'tcp') : 'see docs/errors.md';
      throw listenError(entry.spec, 'listen on', errno, fix);
    });
    return opened.map((entry, i) => {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        entry.release();
      };
      const listener: Listener = {
        name: names[i] as string,
        kind: entry.kind,
        fd: entry.fd,
        // An inherited socket that was already listening keeps the backlog it had (unknown to us).
        backlog: entry.needsListen ? (entry.spec.backlog ?? DEFAULT_BACKLOG) : entry.spec.backlog,
        inode: socketInode(entry.fd) ?? 0,
        inherited: entry.inherited,
        description: describe(entry.kind, entry.host, entry.port, entry.path),
        release,
        close: () => {
          if (released) {
            // Only the file is left to remove: the fd was closed, and its number may belong to another now.
            if (entry.kind === 'unix' && !entry.inherited) entry.removeFile?.();
            return;
          }
          released = true;
          entry.close();
        },
      };
      if (entry.host !== undefined) listener.host = entry.host;
      if (entry.port !== undefined) listener.port = entry.port;
      // An inherited socket that was only bound to port 0 got its real port when it was listened on.
      if (entry.port === 0 && entry.inherited) listener.port = socketFacts(listener.inode)?.port ?? 0;
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
