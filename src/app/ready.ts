// Telling the supervisor "ready": READY=1 on TSDAEMON_READY_FD (any language can do the same), else a
// Node IPC message (PM2's process.send('ready')). Idempotent; a no-op when not supervised.
import { writeSync } from 'node:fs';
import { ENV_READY_FD, READY_IPC_MESSAGE, READY_LINE } from '../child-protocol.js';

let sent = false;

export function ready(env: NodeJS.ProcessEnv = process.env): void {
  if (sent) return;
  sent = true;
  const fd = Number(env[ENV_READY_FD]);
  if (Number.isInteger(fd) && fd > 2) {
    try {
      writeSync(fd, `${READY_LINE}\n`);
      return;
    } catch {
      // The supervisor went away, or the fd is not ours: fall through to IPC.
    }
  }
  if (typeof process.send === 'function' && process.connected) process.send(READY_IPC_MESSAGE);
}
