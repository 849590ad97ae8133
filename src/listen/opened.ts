// What opening one --listen value produced, before names are assigned and the sockets are handed over;
// shared by the per-kind openers (inet.ts, unix.ts, adopted.ts).
import { closeSync } from 'node:fs';
import type { ListenerKind } from '../child-protocol.js';
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN } from '../exit-codes.js';
import type { ListenSpec } from './address.js';

export interface Opened {
  spec: ListenSpec;
  name?: string;
  kind: ListenerKind;
  fd: number;
  host?: string;
  port?: number;
  path?: string;
  needsListen: boolean;
  inherited: boolean;
  /** Close tsdaemon's copy of the fd (the socket lives on in whoever else holds it). */
  release: () => void;
  /** Close it and remove what tsdaemon made for it (a unix socket file); undoes a failed start too. */
  close: () => void;
  /** The unix socket file tsdaemon created: remove it (only if it is still the one we made). */
  removeFile?: () => void;
}

/** An inherited fd has no handle of ours: close(2) it directly. */
export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

function hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function describe(kind: ListenerKind, host?: string, port?: number, path?: string): string {
  return kind === 'unix' ? `unix ${path}` : `${kind} ${hostText(host ?? '')}:${port}`;
}

export function listenError(spec: ListenSpec, what: string, errno: string, fix: string): TsdaemonError {
  return new TsdaemonError(
    `listen-${errno.toLowerCase()}`,
    `cannot ${what} --listen=${spec.raw}: ${errno} (${fix})`,
    EXIT_LISTEN,
  );
}
