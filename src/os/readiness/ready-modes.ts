// When is a new child ready? (--ready, docs/protocol.md)
//   fd         it writes READY=1 (a line) to TSDAEMON_READY_FD — any language;
//   ipc        a Node child calls process.send('ready') (PM2 compatible);
//   accept     tsdaemon sees it wait for connections on an inherited socket (in epoll, poll, select or
//              accept), or hold a connection accepted from one (accept-probe.ts), and then sees its start-up
//              settle (settle.ts): no change to the app;
//   timer:D    it stayed alive for D;
//   auto       whichever explicit signal comes first, else accept detection, else (no sockets) a timer.
import type { Readable } from 'node:stream';
import { READY_IPC_MESSAGE, READY_LINE } from '../../child-protocol.js';
import { forEachLine } from '../log/output-lines.js';
import { createAcceptProbe } from './accept-probe.js';
import { createSettle, type Settle } from './settle.js';

export type ReadyMode =
  | { kind: 'auto' }
  | { kind: 'fd' }
  | { kind: 'ipc' }
  | { kind: 'accept' }
  | { kind: 'timer'; ms: number };

/** How often the accept probe looks at /proc while a child starts. */
export const ACCEPT_POLL_MS = 20;
/** auto with no inherited socket to watch: alive this long counts as ready. */
export const AUTO_TIMER_MS = 1000;

export function wantsReadyFd(mode: ReadyMode): boolean {
  return mode.kind === 'auto' || mode.kind === 'fd';
}
export function wantsIpc(mode: ReadyMode): boolean {
  return mode.kind === 'auto' || mode.kind === 'ipc';
}

export interface ReadinessSources {
  pid: number;
  /** The supervisor's end of the ready fd, when the mode uses one. */
  readyStream?: Readable | undefined;
  /** The child, when an IPC channel was opened (it emits 'message'). */
  ipc?: NodeJS.EventEmitter | undefined;
  /** Inodes of the inherited sockets. */
  inodes: number[];
}

/** Calls onReady once with how readiness was seen. Returns a function that stops watching. */
export function watchReadiness(
  mode: ReadyMode,
  sources: ReadinessSources,
  onReady: (how: string) => void,
): () => void {
  const stops: (() => void)[] = [];
  let done = false;
  const stop = () => {
    for (const s of stops.splice(0)) s();
  };
  const ready = (how: string) => {
    if (done) return;
    done = true;
    stop();
    onReady(how);
  };

  if (sources.readyStream && wantsReadyFd(mode)) {
    let reading = true;
    void forEachLine(sources.readyStream, (line) => {
      if (reading && line.trim() === READY_LINE) ready('READY=1 on the ready fd');
    });
    stops.push(() => {
      reading = false;
    });
  }
  if (sources.ipc && wantsIpc(mode)) {
    const onMessage = (message: unknown) => {
      if (message === READY_IPC_MESSAGE) ready("process.send('ready')");
    };
    sources.ipc.on('message', onMessage);
    stops.push(() => sources.ipc?.off('message', onMessage));
  }
  const inodes = new Set(sources.inodes);
  if ((mode.kind === 'auto' && inodes.size > 0) || mode.kind === 'accept') {
    const probe = createAcceptProbe(sources.pid, inodes);
    let settle: Settle | undefined;
    const timer = setInterval(() => {
      if (!settle) {
        const how = probe.probe();
        if (how) settle = createSettle(how, probe.members);
        return;
      }
      const how = settle.check();
      if (how) ready(how);
    }, ACCEPT_POLL_MS);
    stops.push(() => clearInterval(timer));
  }
  const timerMs =
    mode.kind === 'timer' ? mode.ms : mode.kind === 'auto' && inodes.size === 0 ? AUTO_TIMER_MS : undefined;
  if (timerMs !== undefined) {
    const timer = setTimeout(() => ready(`alive for ${timerMs} ms`), timerMs);
    stops.push(() => clearTimeout(timer));
  }
  return stop;
}
