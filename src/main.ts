// The bundle's entry (dist/tsdaemon.cjs, built by scripts/build.mjs). src/launch.ts loads it, once it has
// checked, as root, that only root can change it, and calls run(). Evaluating it takes over the signals
// first (src/os/process/early-signals.ts: imported before anything else, so before any other module of the bundle
// is evaluated). run() puts the user's NODE_OPTIONS, NODE_EXTRA_CA_CERTS and GLIBC_TUNABLES back for the
// children (src/cli/set-aside.ts), then runs the command. The control commands (status, reload, stop) are
// short-lived clients: the supervisor's modules (src/cli/run-command.ts, and with them winston and execa, which do much
// as they are evaluated) are loaded only for the other commands.
import './os/process/early-signals.js';
import { isControlCommand, runControlCommand } from './cli/control-command.js';
import { UsageError } from './cli/options.js';
import { restoreSetAside } from './cli/set-aside.js';
import { usageExit } from './cli/usage-exit.js';
import { uninstallSignalHandlers } from './os/process/signals.js';

async function control(args: string[], saveCodeCache: () => void): Promise<never> {
  // A short-lived client: Ctrl-C should just end it.
  uninstallSignalHandlers();
  try {
    const code = await runControlCommand(args);
    saveCodeCache();
    process.exit(code);
  } catch (error) {
    if (error instanceof UsageError) usageExit(error.message);
    throw error;
  }
}

export function run(args: string[], saveCodeCache: () => void = () => {}): void {
  restoreSetAside(process.env);
  if (isControlCommand(args[0])) void control(args, saveCodeCache);
  else void import('./cli/run-command.js').then(({ main }) => main(args, { saveCodeCache }));
}
