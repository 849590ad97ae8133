// Every process tsdaemon starts itself, from spawn until libuv has reported its exit. As PID 1 the reaper
// waits for every other child at once; these it must leave alone: libuv waits for them by pid, and if the
// reaper took a status first, libuv would never report that child's exit. Spawning and the reaper both
// run on the main thread, so a pid is registered before any SIGCHLD for it can be handled. As PID 1 the
// only processes tsdaemon spawns are the generations (os/child.ts): the listen helper runs only without the
// native addon, when there is no reaper, and the death watcher, --daemon and SIGUSR2 copies are not used.
const own = new Set<number>();

/** A process tsdaemon just spawned (call right after spawn returns its pid). */
export function rememberChild(pid: number | undefined): void {
  if (pid !== undefined) own.add(pid);
}

/** libuv has reaped it (its 'exit' event came): the pid may be reused by an orphan from now on. */
export function forgetChild(pid: number | undefined): void {
  if (pid !== undefined) own.delete(pid);
}

export function isOwnChild(pid: number): boolean {
  return own.has(pid);
}
