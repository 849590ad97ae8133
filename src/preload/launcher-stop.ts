// The stop signal through a Node launcher. tsdaemon sends it to the process it started, here the launcher,
// and SIGKILLs that process's group once it exits. What the launchers do with it (npm 11, yarn 1.22,
// pnpm 10, tsx 4; docs/launchers.md):
// - npm (and npx) and pnpm 10 forward SIGTERM and SIGINT to the script's shell, `sh -c 'node server.js'`.
//   Debian's sh (dash) forks the command rather than exec'ing it, and dies of the signal without passing it
//   on: the server never hears it. The launcher then exits, and the server is SIGKILLed mid-request.
// - yarn 1 forwards SIGTERM to that shell, then calls process.exit(1) at once.
// - tsx relays SIGINT and SIGTERM to its Node child, waits for it, and exits with its code: fine as it is.
//
// So, in the launcher that tsdaemon started (the leader of the generation's process group), once it has
// started a program: the stop signal goes to the whole group, as Ctrl-C in a terminal sends SIGINT to the
// whole foreground group (launchers and servers are used to that; a server may see the signal twice), and
// the launcher does not end before every other process of its group has: its process.exit() is put off,
// and so is the death by the signal. Then it ends the way it first asked to, or dies of the signal if it
// has no handler of its own. Its status then is 128+N (a clean stop for tsdaemon) unless a program it
// started failed.
import { allPids, readProcStat } from '../os/procfs/proc-stat.js';

/** How often the group is looked at while the launcher waits for it. */
const GROUP_POLL_MS = 50;

function othersInGroup(pgid: number): boolean {
  return allPids().some((pid) => {
    if (pid === process.pid) return false;
    const stat = readProcStat(pid);
    return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z';
  });
}

/**
 * In the group leader: relay the stop signal to the group and outlive it. Returns a function that undoes
 * this (the process turned out to serve itself), or undefined when this process does not lead its group.
 */
export function relayStopToGroup(
  signal: NodeJS.Signals,
  /** Whether every program the launcher started ended cleanly: exit 0, or killed by the stop signal. */
  childrenClean: () => boolean,
): (() => void) | undefined {
  const pgid = readProcStat(process.pid)?.pgrp;
  if (pgid !== process.pid) return undefined;
  let stopping = false;
  // The first way the launcher asked to end, carried out once the group is done.
  let intent: { exit: number | string | undefined } | { signal: true } | undefined;
  const exit = process.exit;

  const finish = () => {
    process.exit = exit;
    process.off(signal, onSignal);
    // npm, yarn and pnpm exit 1 ("command failed: signal SIGTERM") when the shell they ran died of the
    // signal. That is no failure: it ends by the signal instead, which tsdaemon counts as a clean stop.
    if (intent && 'exit' in intent && Number(intent.exit ?? 0) !== 0 && childrenClean())
      intent = { signal: true };
    if (intent && 'exit' in intent) exit.call(process, intent.exit);
    else if (intent) {
      // It had no handler of its own when it was told: it dies of the signal, as it would have at once.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
  };

  const onSignal = () => {
    // Nobody else handles it: the launcher would have died of it.
    const unhandled = process.listenerCount(signal) === 1;
    if (stopping) {
      // Our own broadcast coming back, or the launcher killing itself with it once its child died.
      if (unhandled) intent ??= { signal: true };
      return;
    }
    stopping = true;
    if (unhandled) intent = { signal: true };
    process.exit = function deferredExit(code?: number | string | null) {
      if (!othersInGroup(pgid)) return exit.call(process, code ?? undefined);
      intent ??= { exit: code ?? undefined };
      return undefined as never;
    } as typeof process.exit;
    try {
      process.kill(-pgid, signal);
    } catch {
      // The group is gone but for us: nothing to relay.
    }
    const timer = setInterval(() => {
      if (othersInGroup(pgid)) return;
      clearInterval(timer);
      finish();
    }, GROUP_POLL_MS);
  };

  // First in line: yarn 1 calls process.exit() from its own handler.
  process.prependListener(signal, onSignal);
  return () => {
    if (!stopping) process.off(signal, onSignal);
  };
}
