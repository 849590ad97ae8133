// The stop signal: drain every adopted server (../app/drain.ts) and, when the app has no handler of its
// own for the signal, exit 0 once they are drained and the drain hooks (onDrain) have settled. Without
// the preload the app would have died of the signal at once; with a handler of its own it decides itself.
//
// The handler is prepended, so the drain clock starts (and the servers stop accepting) before any handler
// of the app runs: an app whose handler calls server.close() or drain() joins the same drain.
import type { Server } from 'node:net';
import { drain } from '../app/drain.js';
import { beginDrain, drainHooksSettled } from '../app/drain-clock.js';

export function createStopDrain(stopSignal: NodeJS.Signals): (server: Server) => void {
  const servers = new Set<Server>();
  let stopping = false;

  const onStop = async () => {
    if (stopping) return;
    stopping = true;
    beginDrain();
    const drained = Promise.all([...servers].map((server) => drain(server)));
    if (process.listenerCount(stopSignal) !== 1) return;
    await drained;
    const failures = await drainHooksSettled();
    for (const error of failures) console.error('tsdaemon preload: an onDrain hook failed:', error);
    process.exit(failures.length === 0 ? 0 : 1);
  };

  return (server) => {
    servers.add(server);
    if (servers.size === 1) process.prependListener(stopSignal, onStop);
  };
}
