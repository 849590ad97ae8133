// When tsdaemon dies without a chance to clean up (SIGKILL, the OOM killer, a crash in native code), its
// children must not keep running: they would hold the port, so a restarted tsdaemon could not bind it,
// and no one would ever stop them. Linux's parent-death signal (PR_SET_PDEATHSIG) must be set by the child
// itself, between fork and exec, which an unmodified app never does. Instead a tiny watcher process (sh,
// builtins only, about 1 MiB) holds the read end of a pipe that only tsdaemon writes to. tsdaemon tells it
// each child it starts (+PID) and each that exits (-PID). At EOF, which the kernel delivers when tsdaemon
// is gone however it died, the watcher sends every remaining child the stop signal (a drain: the app stops
// listening at once and finishes what it has in flight), waits the lame duck, then SIGKILLs their process
// groups. When tsdaemon ends normally its children have exited already, so the watcher has nobody left to
// stop and just exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SHELL = '/bin/sh';

// $1: the stop signal's name without SIG, $2: the lame duck in whole seconds.
const WATCHER = `trap '' HUP INT QUIT TERM USR1 USR2 TSTP TTIN TTOU PIPE
pids=
while IFS= read -r line; do
  case $line in
    +*) pids="$pids \${line#+}" ;;
    -*) gone=\${line#-}; kept=; for p in $pids; do [ "$p" = "$gone" ] || kept="$kept $p"; done; pids=$kept ;;
  esac
done
[ -n "$pids" ] || exit 0
for p in $pids; do kill -s "$1" "$p" 2>/dev/null; done
waited=0
while [ "$waited" -lt "$2" ]; do
  alive=
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -n "$alive" ] || break
  sleep 1; waited=$((waited + 1))
done
for p in $pids; do kill -s KILL -- "-$p" 2>/dev/null; done
exit 0`;

let watcher: ChildProcess | undefined;

function tell(line: string): void {
  const stdin = watcher?.stdin;
  if (stdin && !stdin.destroyed) stdin.write(`${line}\n`);
}

/** Start the watcher (once). Returns false where there is no /bin/sh. */
export function startDeathWatch(stopSignal: string, lameDuckMs: number): boolean {
  if (watcher) return true;
  if (!existsSync(SHELL)) return false;
  const seconds = String(Math.max(1, Math.ceil(lameDuckMs / 1000)));
  // Detached, in a process group (and session) of its own: a SIGKILL sent to tsdaemon's whole group (kill -9
  // -PGID, `timeout -s KILL`, a shell's `kill -9 %1`) must not take the watcher with it, or the children,
  // each in a group of its own, would go on holding the port with no one to stop them. The traps keep it
  // immune to the other signals a terminal or a caller sends. The script travels in the environment, so
  // that ps shows one short line: sh -c eval… tsdaemon-watch TERM 15
  watcher = spawn(
    SHELL,
    ['-c', 'eval "$WATCH_SCRIPT"', 'tsdaemon-watch', stopSignal.replace(/^SIG/, ''), seconds],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WATCH_SCRIPT: WATCHER },
    },
  );
  watcher.stdin?.on('error', () => {}); // the watcher gone (killed by someone) must not crash tsdaemon
  watcher.on('error', () => {});
  // Neither the pipe nor the process may keep tsdaemon's event loop alive.
  watcher.unref();
  (watcher.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return true;
}

/** A child tsdaemon started: the watcher stops it if tsdaemon dies. */
export function watchChild(pid: number): void {
  tell(`+${pid}`);
}

/** A child that exited: nothing to stop any more. */
export function unwatchChild(pid: number): void {
  tell(`-${pid}`);
}

/** tsdaemon ends: the watcher stops the children still running (none, after a normal drain) and exits. */
export function stopDeathWatch(): void {
  watcher?.stdin?.end();
  watcher = undefined;
}
