// server.close() on an adopted server drains it (../app/drain.ts) instead: http.Server#close() first
// closes "idle" connections, among them connections whose request is on its way (a reset), and a plain
// net close would wait for long-lived connections forever. The callback still runs once the server is
// closed. Patched on the instance, so it covers http, https, http2 and net servers alike.
import type { Server } from 'node:net';
import { drain, isDraining } from '../app/drain.js';

export function drainOnClose(server: Server): void {
  const close = server.close;
  server.close = function patchedClose(this: Server, callback?: (error?: Error) => void) {
    // Not running: Node's own close() reports ERR_SERVER_NOT_RUNNING to the callback.
    if (!this.listening && !isDraining(this)) return close.call(this, callback);
    if (callback) this.once('close', () => callback());
    drain(this);
    return this;
  };
}
