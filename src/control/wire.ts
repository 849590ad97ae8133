// The control socket's protocol: one JSON object per line each way. The client sends
// {"command":"status"|"reload"|"stop"}; the supervisor answers one line and closes:
//   status → {"ok":true,"status":SupervisorStatus}
//   reload → {"ok":true,"generation":N,"pid":P} once generation N is ready, or {"ok":false,"error":"…"}
//   stop   → {"ok":true} as soon as the drain began (the client then waits for the pid to be gone)
export type ControlCommand = 'status' | 'reload' | 'stop';
export const CONTROL_COMMANDS: readonly ControlCommand[] = ['status', 'reload', 'stop'];

/** word names a control command (status, reload, stop), which are clients of a running supervisor. */
export function isControlCommand(word: string | undefined): boolean {
  return CONTROL_COMMANDS.includes(word as ControlCommand);
}

/** The control socket that goes with a pidfile when --control is not given. */
export function controlPathFor(pidfile: string): string {
  return `${pidfile}.sock`;
}
