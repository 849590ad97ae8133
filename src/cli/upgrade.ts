// SIGUSR2: replace tsdaemon itself (a newer version on disk) without closing a socket. The running
// supervisor starts a new tsdaemon with the same options, but with every listening socket handed over as
// an inherited fd (--listen=NAME=&N, the seed's re-exec). The new one starts its own children on them;
// once they are ready it says so, the old one writes the new pid into the pidfile and drains its own
// children. If the new one fails, the old one goes on as if nothing happened.
import { FIRST_LISTEN_FD } from '../child-protocol.js';
import { startCopy } from './start-copy.js';

export type UpgradeOutcome = { ok: true; pid: number } | { ok: false; error: string };

/** The options part of argv without any --listen / -l, and the command after "--". */
export function withInheritedListeners(args: string[], listeners: { name: string }[]): string[] {
  const at = args.indexOf('--');
  const options = at < 0 ? args : args.slice(0, at);
  const command = at < 0 ? [] : args.slice(at);
  const kept: string[] = [];
  for (let i = 0; i < options.length; i++) {
    const arg = options[i] as string;
    if (arg === '--listen' || arg === '-l') {
      i++;
      continue;
    }
    if (arg.startsWith('--listen=') || arg.startsWith('-l=')) continue;
    kept.push(arg);
  }
  const listen = listeners.map((l, i) => `--listen=${l.name}=&${FIRST_LISTEN_FD + i}`);
  return [...kept, ...listen, ...command];
}

/** Start the successor; resolves once it is ready (its pid) or failed (why). */
export async function startSuccessor(
  args: string[],
  env: NodeJS.ProcessEnv,
  fds: number[],
  timeoutMs: number,
): Promise<UpgradeOutcome> {
  // TSDAEMON_LISTEN would add the sockets a second time: the flags name them all.
  const { TSDAEMON_LISTEN: _listen, ...rest } = env;
  const outcome = await startCopy(args, {
    starter: 'upgrade',
    env: rest,
    stdio: ['inherit', 'inherit', 'inherit'],
    fds,
    timeoutMs,
  });
  return outcome.ok ? outcome : { ok: false, error: `the new tsdaemon failed: ${outcome.error}` };
}
