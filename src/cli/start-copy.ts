// Starting another tsdaemon process and waiting for its word: for --daemon (the detached copy) and for
// SIGUSR2 (the successor). The copy runs in its own session with an IPC channel; it reports once its first
// children are ready, or why it failed (reportToStarter), and the channel is let go either way.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { stdioWithFds } from '../os/process/stdio.js';

/**
 * Set in the environment of a tsdaemon started by another one: "daemon" (--daemon) or "upgrade" (SIGUSR2).
 * Not a TSDAEMON_ option, so it is never read as one.
 */
export const STARTER_MARKER = '__TSDAEMON_STARTED_BY';

type StartMessage = { ready: true; pid: number } | { error: string; exitCode: number };

export type StartOutcome = { ok: true; pid: number } | { ok: false; error: string; exitCode: number };

/** In a tsdaemon started by another one: tell it how the start went. No-op elsewhere. */
export function reportToStarter(message: StartMessage): void {
  if (!process.env[STARTER_MARKER] || typeof process.send !== 'function' || !process.connected) return;
  process.send(message, () => {
    if (process.connected) process.disconnect();
  });
}

type Stdio = 'ignore' | 'inherit' | number;

export interface CopyOptions {
  starter: 'daemon' | 'upgrade';
  env: NodeJS.ProcessEnv;
  stdio: [Stdio, Stdio, Stdio];
  /** fds the copy gets from 3 on. */
  fds: (number | 'ignore')[];
  /** Give up (and SIGTERM the copy) after this long. */
  timeoutMs?: number;
}

/** Start `tsdaemon ...args` as a detached copy; resolves once it is ready or failed. */
export function startCopy(args: string[], options: CopyOptions): Promise<StartOutcome> {
  // Through bin/tsdaemon itself where there is a shell for it, so that the copy gets the same node flags
  // and sets the same variables aside (src/cli/set-aside.ts); else node with "--" before the script: node
  // would otherwise take a tsdaemon --env-file in args as its own (bin/tsdaemon says why).
  const script = process.argv[1] as string;
  const [file, fileArgs] = existsSync('/bin/sh')
    ? [script, args]
    : [process.execPath, [...process.execArgv, '--', script, ...args]];
  const copy = execa(file, fileArgs, {
    env: { ...options.env, [STARTER_MARKER]: options.starter },
    extendEnv: false,
    detached: true,
    stdio: stdioWithFds(options.stdio, options.fds),
    ipc: true,
    serialization: 'json',
    reject: false,
    buffer: false,
    cleanup: false,
    forceKillAfterDelay: false,
  });
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: StartOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      copy.unref();
      copy.channel?.unref();
      resolve(outcome);
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            copy.kill('SIGTERM');
            settle({ ok: false, error: `not ready within ${options.timeoutMs} ms`, exitCode: 1 });
          }, options.timeoutMs);
    copy.on('message', (message: StartMessage) => {
      if ('ready' in message) settle({ ok: true, pid: message.pid });
      else settle({ ok: false, error: message.error, exitCode: message.exitCode });
    });
    copy.on('exit', (code, signal) =>
      settle({
        ok: false,
        error: `it exited during start-up (${signal ?? `code ${code}`})`,
        exitCode: code ?? 1,
      }),
    );
  });
}
