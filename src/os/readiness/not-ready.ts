// Why is a child not seen ready? One line for the "not ready after N s" warning and for `status`: what
// the processes of the child's group wait in (waiting.ts), and the --ready modes that need no probe.
import { describeWaiting } from './waiting.js';

/** listeners: inode -> name of each inherited socket. */
export function describeNotReady(pid: number, listeners: ReadonlyMap<number, string>): string {
  const report = describeWaiting(pid, listeners);
  // A reason (tsdaemon cannot look) already ends with the --ready modes to use instead.
  if (report.reason) return report.text;
  return `${report.text}; if it serves, tell tsdaemon so: --ready=fd (write READY=1 to $TSDAEMON_READY_FD), --ready=ipc (process.send('ready')) or --ready=timer:DURATION`;
}
