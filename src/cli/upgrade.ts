// SIGUSR2: replace tsdaemon itself (a newer version on disk) without closing a socket. The running
// supervisor starts a new tsdaemon with the same options, but with every listening socket handed over as
// an inherited fd (--listen=NAME=&N, the seed's re-exec). The new one starts its own children on them;
// once they are ready it says so, the old one writes the new pid into the pidfile and drains its own
// children. If the new one fails, the old one goes on as if nothing happened. The whole of it is here:
// run-command.ts only wires createUpgrade to the supervisor (src/supervise/interpreter.ts calls it on
// SIGUSR2), and asks handedOver before it closes what the successor now owns.
import { FIRST_LISTEN_FD } from '../child-protocol.js';
import type { Listener } from '../listen/listeners.js';
import type { Logger } from '../os/log/logger.js';
import type { Notifier } from '../os/sd-notify.js';
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

export interface UpgradeDeps {
  /** tsdaemon's own argv (options and the command after "--"). */
  args: string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  notifier: Notifier;
  /** How long the successor may take to be ready. */
  timeoutMs: number;
  /** The listening sockets, once they are open. */
  listeners: () => Listener[];
  /** Write the successor's pid into the pidfile, if there is one. */
  handOverPidfile: (pid: number) => void;
  /** Drain this supervisor once the successor serves. */
  stop: () => void;
}

export interface Upgrade {
  /** SIGUSR2: start a successor on the same sockets; once it is ready, it serves and this one drains. */
  start(): Promise<void>;
  /** A successor serves now: it speaks to systemd, and the sockets and the control socket are its. */
  readonly handedOver: boolean;
}

export function createUpgrade(deps: UpgradeDeps): Upgrade {
  const { logger } = deps;
  let handedOver = false;
  let upgrading = false;
  return {
    get handedOver() {
      return handedOver;
    },
    async start() {
      if (upgrading || handedOver) return;
      if (process.pid === 1) {
        // The successor cannot become PID 1: handing over would end the whole container.
        logger.log(
          'warn',
          'SIGUSR2 ignored: as PID 1 tsdaemon cannot hand over to a new process; restart the container instead',
        );
        return;
      }
      upgrading = true;
      logger.log('info', 'SIGUSR2: starting a new tsdaemon on the same sockets');
      const listeners = deps.listeners();
      const args = withInheritedListeners(deps.args, listeners);
      logger.log(
        'verbose',
        `the new tsdaemon gets the listening sockets as ${args.filter((a) => a.startsWith('--listen=')).join(' ') || 'nothing'}`,
      );
      const outcome = await startSuccessor(
        args,
        deps.env,
        listeners.map((l) => l.fd),
        deps.timeoutMs,
      );
      upgrading = false;
      if (!outcome.ok) {
        logger.log('error', `upgrade failed: ${outcome.error}; this tsdaemon goes on serving`);
        return;
      }
      handedOver = true;
      deps.handOverPidfile(outcome.pid);
      deps.notifier.send(`MAINPID=${outcome.pid}`, `STATUS=upgraded to pid ${outcome.pid}`);
      logger.log('info', `upgrade: tsdaemon pid ${outcome.pid} serves now; draining this one`, {
        successor: outcome.pid,
      });
      deps.stop();
    },
  };
}
