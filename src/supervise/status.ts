// What tsdaemon tells about itself: the snapshot behind `tsdaemon status` (and its --json), and the line
// SIGUSR1 writes to the log. One shape for one worker and for many.
import type { SupervisorModel } from '../core/supervisor.js';
import { serviceState } from '../core/supervisor.js';

export interface GenerationStatus {
  worker: number;
  generation: number;
  pid?: number;
  status: 'starting' | 'serving' | 'stopping';
  uptimeMs?: number;
  /** A generation still starting after a few seconds: what its threads wait in, or why tsdaemon cannot tell. */
  waiting?: string;
}

export interface SupervisorStatus {
  pid: number;
  state: string;
  uptimeMs: number;
  restarts: number;
  failedRestarts: number;
  lastFailure?: string;
  rssBytes: number;
  generations: GenerationStatus[];
  listeners: { name: string; fd: number; address: string }[];
}

/** What the status needs from outside the core: the clock, the process and the live children. */
export interface StatusView {
  now: number;
  startedAt: number;
  pid: number;
  rssBytes: number;
  listeners: SupervisorStatus['listeners'];
  /** When the child of (worker, generation) was spawned, if it runs. */
  childStartedAt(worker: number, generation: number): number | undefined;
  /** What a generation that is slow to get ready waits in. */
  waitingOf(pid: number): string;
}

export function statusOf(model: SupervisorModel, view: StatusView): SupervisorStatus {
  const workers = [...model.workers].sort((a, b) => a.index - b.index);
  const generations: GenerationStatus[] = workers.flatMap((w) =>
    w.model.generations.map((g) => {
      const entry: GenerationStatus = { worker: w.index, generation: g.id, status: g.status };
      if (g.pid !== undefined) entry.pid = g.pid;
      const startedAt = view.childStartedAt(w.index, g.id);
      if (startedAt !== undefined) entry.uptimeMs = view.now - startedAt;
      if (g.pid !== undefined && startedAt !== undefined && g.status === 'starting' && g.readyWarnings > 0)
        entry.waiting = view.waitingOf(g.pid);
      return entry;
    }),
  );
  const snapshot: SupervisorStatus = {
    pid: view.pid,
    state: serviceState(model),
    uptimeMs: view.now - view.startedAt,
    restarts: workers.reduce((sum, w) => sum + w.model.restarts, 0),
    failedRestarts: workers.reduce((sum, w) => sum + w.model.failures, 0),
    rssBytes: view.rssBytes,
    generations,
    listeners: view.listeners,
  };
  const lastFailure =
    workers.map((w) => w.model.lastFailure).find((f) => f !== undefined) ?? model.lastFailure;
  if (lastFailure !== undefined) snapshot.lastFailure = lastFailure;
  return snapshot;
}

/**
 * The fields of the SIGUSR1 status line: workers is how many run now. Generations carry their worker
 * ("w1:3:serving…") when there are several (--workers, or SIGTTIN).
 */
export function reportFields(
  status: SupervisorStatus,
  workers: number,
  configured: number,
): Record<string, string | number | undefined> {
  const several = configured > 1 || status.generations.some((g) => g.worker > 0);
  const up = (ms: number | undefined) => (ms === undefined ? '-' : `${Math.round(ms / 1000)}s`);
  return {
    state: status.state,
    workers,
    uptimeS: Math.round(status.uptimeMs / 1000),
    restarts: status.restarts,
    generations: status.generations
      .map(
        (g) =>
          `${several ? `w${g.worker}:` : ''}${g.generation}:${g.status}:pid=${g.pid ?? '-'}:up=${up(g.uptimeMs)}`,
      )
      .join(','),
    lastFailure: status.lastFailure,
    rssMiB: Math.round(status.rssBytes / 104857.6) / 10,
    listeners: status.listeners.map((l) => `${l.name}=${l.address}`).join(','),
  };
}
